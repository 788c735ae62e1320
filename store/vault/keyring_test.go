package vault

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestOpenAutoChoosesWhereTheKeyLives(t *testing.T) {
	tests := []struct {
		name       string
		keyringErr error // nil: a working keyring
		keyFile    bool  // a key file exists already
		env        string
		wantSource string
		wantFile   bool
	}{
		{"keyring available", nil, false, "", "OS keyring", false},
		{"no keyring service", errors.New("dbus: no session bus"), false, "", "key file", true},
		{"an existing key file wins", nil, true, "", "key file", true},
		{"keyring switched off", nil, false, "off", "key file", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.keyringErr != nil {
				keyring.MockInitWithError(tc.keyringErr)
			} else {
				keyring.MockInit()
			}
			t.Setenv(KeyringEnv, tc.env)
			path := filepath.Join(t.TempDir(), "qtc", "key")
			if tc.keyFile {
				if _, err := Open(path); err != nil {
					t.Fatal(err)
				}
			}
			v, err := OpenAuto(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(v.Source, tc.wantSource) {
				t.Errorf("Source = %q, want %q…", v.Source, tc.wantSource)
			}
			if _, err := os.Stat(path); (err == nil) != tc.wantFile {
				t.Errorf("key file exists: %v, want %v", err == nil, tc.wantFile)
			}
			// The same key comes back: what one opening sealed, the next opens.
			sealed, err := v.Seal([]byte("s3cret"), "a")
			if err != nil {
				t.Fatal(err)
			}
			again, err := OpenAuto(path)
			if err != nil {
				t.Fatal(err)
			}
			if plain, err := again.Open(sealed, "a"); err != nil || string(plain) != "s3cret" {
				t.Fatalf("reopened vault: %q, %v", plain, err)
			}
		})
	}
}

func TestExportKeyMovesAKeyringKeyToAFile(t *testing.T) {
	keyring.MockInit()
	t.Setenv(KeyringEnv, "")
	dir := t.TempDir()
	v, err := OpenAuto(filepath.Join(dir, "key"))
	if err != nil || v.Source != "OS keyring" {
		t.Fatalf("%v, source %q", err, v.Source)
	}
	sealed, err := v.Seal([]byte("s3cret"), "a")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "exported")
	if err := v.ExportKey(out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported key: %v, mode %v", err, fi.Mode())
	}
	other, err := Open(out) // the other machine's key file
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := other.Open(sealed, "a"); err != nil || string(plain) != "s3cret" {
		t.Fatalf("exported key opens %q, %v", plain, err)
	}
	if err := v.ExportKey(out); err == nil {
		t.Error("ExportKey overwrote an existing file")
	}
}
