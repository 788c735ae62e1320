package sync_test

import (
	"encoding/json"
	"os"
)

func toBytes(rs []json.RawMessage) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

func readFile(p string) ([]byte, error) { return os.ReadFile(p) }
