package budget

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// Where webhooks may connect: by default public addresses only; with the
// on-premise opt-in loopback and private networks too; link-local (cloud
// metadata), unspecified, multicast and reserved never. IPv6 forms that
// carry an IPv4 address are judged by it.
func TestWebhookAddresses(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string][2]bool{ // allowed by default, allowed with AllowPrivate
		"203.0.113.9:443": {true, true}, "8.8.8.8:80": {true, true}, "[2001:db8::1]:443": {true, true},
		"[2606:4700::1111]:443": {true, true},
		"127.0.0.1:8080":        {false, true}, "127.9.9.9:80": {false, true}, "[::1]:80": {false, true},
		"[::ffff:127.0.0.1]:80": {false, true}, "10.1.2.3:443": {false, true}, "172.16.0.1:80": {false, true},
		"172.31.255.254:80": {false, true}, "192.168.1.10:80": {false, true}, "[fd12:3456::1]:443": {false, true},
		"100.100.100.200:80": {false, true}, "[64:ff9b::a00:1]:80": {false, true}, "[2002:c0a8:101::1]:80": {false, true},
		"169.254.169.254:80": {false, false}, "[fe80::1]:80": {false, false}, "[fe80::1%eth0]:80": {false, false},
		"[64:ff9b::a9fe:a9fe]:80": {false, false}, "[::ffff:169.254.169.254]:80": {false, false},
		"0.0.0.0:80": {false, false}, "[::]:80": {false, false}, "0.1.2.3:80": {false, false},
		"224.0.0.1:80": {false, false}, "[ff02::1]:80": {false, false}, "255.255.255.255:80": {false, false},
		"240.0.0.1:80": {false, false}, "198.18.0.1:80": {false, false}, "[::7f00:1]:80": {false, false},
		"[fec0::1]:80": {false, false},
	} {
		require.Equal(t, want[0], checkAddress(addr, false) == nil, "%s by default: %v", addr, checkAddress(addr, false))
		require.Equal(t, want[1], checkAddress(addr, true) == nil, "%s with private allowed: %v", addr, checkAddress(addr, true))
	}
}
