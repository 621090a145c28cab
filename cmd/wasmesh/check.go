package main

import (
	"errors"
	"io"
)

// runCheck is a placeholder until the check command lands; its owner replaces this file.
func runCheck(args []string, stdout, stderr io.Writer) error {
	return errors.New("the check command is not built yet")
}
