package main

import (
	"errors"
	"io"
)

// runApply is a placeholder until the apply command lands; its owner replaces this file.
func runApply(args []string, stdout, stderr io.Writer) error {
	return errors.New("the apply command is not built yet")
}
