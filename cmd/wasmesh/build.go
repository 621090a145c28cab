package main

import (
	"errors"
	"io"
)

// runBuild is a placeholder until the build command lands; its owner replaces this file.
func runBuild(args []string, stdout, stderr io.Writer) error {
	return errors.New("the build command is not built yet")
}
