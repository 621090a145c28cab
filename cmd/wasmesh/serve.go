package main

import (
	"errors"
	"io"
)

// runServe is a placeholder until the serve command lands; its owner replaces this file.
func runServe(args []string, stdout, stderr io.Writer) error {
	return errors.New("the serve command is not built yet")
}
