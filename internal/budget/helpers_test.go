package budget

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestWebhooksMayNotReachLoopbackOrLinkLocal(t *testing.T) {
	t.Parallel()
	for addr, allowed := range map[string]bool{
		"10.1.2.3:443": true, "192.168.1.10:80": true, "203.0.113.9:443": true, "[2001:db8::1]:443": true,
		"127.0.0.1:8080": false, "[::1]:80": false, "169.254.169.254:80": false, "[fe80::1]:80": false,
		"0.0.0.0:80": false, "[::ffff:127.0.0.1]:80": false,
	} {
		err := checkAddress(addr, false)
		require.Equal(t, allowed, err == nil, "%s: %v", addr, err)
	}
	require.NoError(t, checkAddress("127.0.0.1:8080", true), "loopback when allowed")
	require.Error(t, checkAddress("169.254.169.254:80", true), "link-local never")
}
