package main

import (
	"errors"
	"io"
)

// runStatus is a placeholder until the status command lands; its owner replaces this file.
func runStatus(args []string, stdout, stderr io.Writer) error {
	return errors.New("the status command is not built yet")
}
