package anomaly

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// stateVersion prefixes a marshalled State so a server restarted on a newer
// layout can tell old bytes from new and start the series afresh instead of
// misreading them.
const stateVersion = 1

// MarshalBinary encodes the state in a fixed-size little-endian layout, so a
// server can persist every series' state and resume scoring after a restart.
func (s *State) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(1 + binary.Size(s))
	buf.WriteByte(stateVersion)
	if err := binary.Write(&buf, binary.LittleEndian, s); err != nil {
		return nil, fmt.Errorf("error encoding anomaly state: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (s *State) UnmarshalBinary(data []byte) error {
	if len(data) == 0 || data[0] != stateVersion {
		return fmt.Errorf("anomaly state: unknown layout (want version %d)", stateVersion)
	}
	if want := 1 + binary.Size(s); len(data) != want {
		return fmt.Errorf("anomaly state: %d bytes, want %d", len(data), want)
	}
	return binary.Read(bytes.NewReader(data[1:]), binary.LittleEndian, s)
}

// StateSize is the number of bytes a marshalled State takes.
func StateSize() int { return 1 + binary.Size(State{}) }
