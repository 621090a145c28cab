package sdk

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAtoi(t *testing.T) {
	require.Equal(t, 503, atoi("503"))
	require.Equal(t, 0, atoi("5x3"))
	require.Equal(t, 0, atoi(""))
}
