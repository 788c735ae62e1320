package text

import (
	"encoding/json"
	"testing"
)

func TestHelpers(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{JSON(json.RawMessage(`"a b"`)), "a b"},
		{JSON(json.RawMessage(`42`)), "42"},
		{JSON(json.RawMessage(`null`)), ""},
		{JSON(nil), ""},
		{Snippet([]byte("  short  "), 10), "short"},
		{Snippet([]byte("héllo world"), 3), "hé..."[:3] + "..."},
		{Snippet([]byte{0xff, 'a'}, 10), "?a"},
		{OneLine("a\n  b\tc", 10), "a b c"},
		{OneLine("abcdefghijkl", 5), "abcde..."},
		{OneLine("ééé", 3), "é..."},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
