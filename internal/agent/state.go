package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// credentialFile is the state file holding the host credential.
const credentialFile = "credential.json"

// State is what the agent keeps between runs: the host credential the server
// issued, and what it was issued for.
type State struct {
	Server       string    `json:"server"`
	Hostname     string    `json:"hostname"`
	HostID       int64     `json:"host_id"`
	Cluster      string    `json:"cluster"`
	Credential   string    `json:"credential"`
	RegisteredAt time.Time `json:"registered_at"`
}

// LoadState reads the credential from dir. A file others may read is made
// private (0600) with a warning: it holds a secret. ok is false when there is
// no credential yet.
func LoadState(dir string, logger *slog.Logger) (st State, ok bool, err error) {
	path := filepath.Join(dir, credentialFile)
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("error reading the agent state: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		logger.Warn("the credential file was readable by others: making it private (0600) (consider the credential exposed: retire and re-register the host if others could read it)",
			"path", path, "mode", fmt.Sprintf("%#o", perm))
		if err := os.Chmod(path, 0o600); err != nil {
			return State{}, false, fmt.Errorf("the credential file %s has mode %#o and cannot be made private: %w", path, perm, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, false, fmt.Errorf("error reading the agent state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Credential == "" {
		logger.Warn("the credential file is unreadable: registering again", "path", path, "error", err)
		return State{}, false, nil
	}
	return st, true, nil
}

// SaveState writes the credential to dir (mode 0600) atomically: a crash
// leaves the old file or the new one, never half of one.
func SaveState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, credentialFile+".*")
	if err != nil {
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, credentialFile)); err != nil {
		return fmt.Errorf("error saving the agent state: %w", err)
	}
	syncDir(dir)
	return nil
}
