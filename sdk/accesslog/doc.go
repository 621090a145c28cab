// Package accesslog writes structured (JSON) log lines without fmt or reflection: a Writer
// appends fields to a caller-owned buffer, so a filter reuses one buffer for every request.
package accesslog
