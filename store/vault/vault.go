// Package vault seals connector secrets (passwords, client secrets) with
// AES-256-GCM so they never reach disk in plaintext.
//
// The 32-byte key lives in its own file (by default $XDG_CONFIG_HOME/qtc/key,
// mode 0600), apart from the store, so a copied store file alone does not
// reveal the secrets. Each sealed value is bound to what it is (the AAD, for
// example "connector/NAME/password"), so a sealed value moved to another
// field or connector does not open.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the size of the key file in bytes (AES-256).
const KeySize = 32

// prefix marks the format of a sealed value: "v1:" + base64(nonce||ciphertext).
const prefix = "v1:"

// ErrOpen is returned (wrapped) when a sealed value cannot be opened: it was
// tampered with, sealed for another AAD, or sealed with another key.
var ErrOpen = errors.New("cannot open sealed secret (tampered, sealed for another field, or sealed with another key)")

// Vault seals and opens secrets with one key. It is safe for concurrent use.
type Vault struct {
	aead cipher.AEAD
	key  []byte // for ExportKey
	// Source says where the key lives: "key file PATH" or "OS keyring".
	Source string
}

// DefaultKeyPath returns where the key lives: $XDG_CONFIG_HOME/qtc/key, else
// ~/.config/qtc/key.
func DefaultKeyPath() (string, error) {
	if dir := os.Getenv("XDG_CONFIG_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "qtc", "key"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default key path: %w", err)
	}
	return filepath.Join(home, ".config", "qtc", "key"), nil
}

// Open loads the key at keyPath, creating it (random, mode 0600, directory
// 0700) if it does not exist. It refuses a key file of the wrong size or
// that others may read or write.
func Open(keyPath string) (*Vault, error) {
	if keyPath == "" {
		return nil, errors.New("open vault: empty key path")
	}
	key, err := loadKey(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(keyPath)
		if errors.Is(err, fs.ErrExist) { // another process created it first
			key, err = loadKey(keyPath)
		}
	}
	if err != nil {
		return nil, err
	}
	v, err := fromKey(key, "key file "+keyPath)
	clear(key)
	return v, err
}

// fromKey builds a vault over a copy of key.
func fromKey(key []byte, source string) (*Vault, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("open vault key (%s): %w", source, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("open vault key (%s): %w", source, err)
	}
	return &Vault{aead: aead, key: append([]byte(nil), key...), Source: source}, nil
}

// loadKey reads and checks an existing key file.
func loadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open vault key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open vault key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("vault key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("vault key %s has permissions %04o, others may read it; run chmod 600 %s (and consider the secrets sealed with it exposed)", path, perm, path)
	}
	if fi.Size() != KeySize {
		return nil, fmt.Errorf("vault key %s is %d bytes, want %d; it is damaged or not a qtc key", path, fi.Size(), KeySize)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("read vault key %s: %w", path, err)
	}
	return key, nil
}

// createKey writes a new random key file and returns the key, or an error
// wrapping fs.ErrExist if another process created the file first. The key
// is written to a temporary file and hard-linked into place, so no reader
// ever sees a partial key file.
func createKey(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create vault key directory: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate vault key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create vault key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, key); err != nil {
		return nil, fmt.Errorf("write vault key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// No hard links here: create the file exclusively instead.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create vault key: %w", err)
		}
		if err := writeSync(f, key); err != nil {
			_ = os.Remove(path)
			return nil, fmt.Errorf("write vault key %s: %w", path, err)
		}
	}
	return key, nil
}

// writeSync writes b to f, syncs and closes it.
func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Seal encrypts plaintext bound to aad (for example
// "connector/NAME/password") and returns "v1:" + base64(nonce||ciphertext).
func (v *Vault) Seal(plaintext []byte, aad string) (string, error) {
	nonce := make([]byte, v.aead.NonceSize(), v.aead.NonceSize()+len(plaintext)+v.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", aad, err)
	}
	sealed := v.aead.Seal(nonce, nonce, plaintext, []byte(aad))
	return prefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal with the same key and aad. The error
// (wrapping ErrOpen when authentication fails) never contains the key or
// plaintext.
func (v *Vault) Open(sealed string, aad string) ([]byte, error) {
	body, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, fmt.Errorf("open sealed %s: unknown format (want %q prefix)", aad, prefix)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("open sealed %s: bad encoding: %w", aad, ErrOpen)
	}
	ns := v.aead.NonceSize()
	if len(raw) < ns+v.aead.Overhead() {
		return nil, fmt.Errorf("open sealed %s: too short: %w", aad, ErrOpen)
	}
	plain, err := v.aead.Open(nil, raw[:ns], raw[ns:], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("open sealed %s: %w", aad, ErrOpen)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}
