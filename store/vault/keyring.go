package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zalando/go-keyring"
)

// The OS keyring (macOS Keychain, Windows Credential Manager, the Secret
// Service on Linux desktops) may hold the key instead of a file. go-keyring
// is pure Go (D-Bus on Linux, no cgo) and reports an error where no keyring
// service runs, which is when qtc falls back to the key file.

// KeyringService is qtc's service name in the OS keyring; the entry's user
// is the key file path it stands in for, so separate configurations keep
// separate keys.
const KeyringService = "qtc"

// KeyringEnv set to "off" keeps the key out of the keyring (cron jobs and
// systemd timers usually run without an unlocked keyring session).
const KeyringEnv = "QTC_KEYRING"

// keyringGet and keyringSet are the OS keyring (tests use go-keyring's mock).
var (
	keyringGet = keyring.Get
	keyringSet = keyring.Set
)

// OpenAuto opens the key the way the command line does:
//  1. an existing key file at keyPath wins (stores keep working);
//  2. else a key kept in the OS keyring for keyPath;
//  3. else a new random key, stored in the OS keyring when one is available
//     and not switched off ($QTC_KEYRING=off), in a key file (0600) otherwise.
//
// Vault.Source says which was used.
func OpenAuto(keyPath string) (*Vault, error) {
	if keyPath == "" {
		return nil, errors.New("open vault: empty key path")
	}
	if _, err := os.Stat(keyPath); err == nil || !errors.Is(err, fs.ErrNotExist) || os.Getenv(KeyringEnv) == "off" {
		return Open(keyPath)
	}
	user, err := filepath.Abs(keyPath)
	if err != nil {
		return Open(keyPath)
	}
	stored, err := keyringGet(KeyringService, user)
	switch {
	case err == nil:
		key, derr := base64.StdEncoding.DecodeString(stored)
		if derr != nil || len(key) != KeySize {
			return nil, fmt.Errorf("the OS keyring's %s key for %s is damaged (not %d base64 bytes); remove the entry or set %s=off", KeyringService, user, KeySize, KeyringEnv)
		}
		defer clear(key)
		return fromKey(key, "OS keyring")
	case !errors.Is(err, keyring.ErrNotFound):
		return Open(keyPath) // no keyring service here: the key file
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate vault key: %w", err)
	}
	if err := keyringSet(KeyringService, user, base64.StdEncoding.EncodeToString(key)); err != nil {
		return Open(keyPath) // the keyring refused (locked, full): the key file
	}
	return fromKey(key, "OS keyring")
}

// ExportKey writes the key to a new file (mode 0600), so a store whose key
// is in the OS keyring can move to another machine: put the file at the
// other machine's key path.
func (v *Vault) ExportKey(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("export vault key: %w", err)
	}
	if err := writeSync(f, v.key); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("export vault key %s: %w", path, err)
	}
	return nil
}
