package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
)

// FreeBasePort finds a base port whose whole block of PortSpan ports is free (for tests that
// start a sandbox).
//
// The block lies below the kernel's ephemeral port range: the sandbox binds some of its ports
// (the control endpoint) only once its sidecars are ready, and a port in the ephemeral range
// can be taken meanwhile by any outgoing connection on the machine.
func FreeBasePort() (int, error) {
	top := ephemeralStart() - PortSpan
	for range 50 {
		base := 20000 + 100*rand.IntN(max(1, (top-20000)/100))
		if checkPorts(NewTopology(base)) == nil {
			return base, nil
		}
	}
	return 0, errors.New("no free block of ports found")
}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux's default 32768 where
// it cannot be read).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 20000+PortSpan {
		return 32768
	}
	return lo
}
