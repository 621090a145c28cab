package main

import (
	"errors"
	"io"
)

// runSandbox is a placeholder until the sandbox command lands; its owner replaces this file.
func runSandbox(args []string, stdout, stderr io.Writer) error {
	return errors.New("the sandbox command is not built yet")
}
