package main

import (
	"errors"
	"io"
)

// runGet is a placeholder until the get command lands; its owner replaces this file.
func runGet(args []string, stdout, stderr io.Writer) error {
	return errors.New("the get command is not built yet")
}
