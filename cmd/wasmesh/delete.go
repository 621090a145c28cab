package main

import (
	"errors"
	"io"
)

// runDelete is a placeholder until the delete command lands; its owner replaces this file.
func runDelete(args []string, stdout, stderr io.Writer) error {
	return errors.New("the delete command is not built yet")
}
