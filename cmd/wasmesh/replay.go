package main

import (
	"errors"
	"io"
)

// runReplay is a placeholder until the replay command lands; its owner replaces this file.
func runReplay(args []string, stdout, stderr io.Writer) error {
	return errors.New("the replay command is not built yet")
}
