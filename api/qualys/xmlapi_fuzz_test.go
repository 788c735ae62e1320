package qualys

import (
	"errors"
	"strings"
	"testing"
)

// checkDecodeErr fails unless err is nil, a *DecodeError or an *APIError.
func checkDecodeErr(t *testing.T, err error) {
	var de *DecodeError
	var ae *APIError
	if err != nil && !errors.As(err, &de) && !errors.As(err, &ae) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

func FuzzDecodeHostAssets(f *testing.F) {
	for _, s := range []string{hostAssetFixture, hostAssetEmptyFixture, hostAssetErrorFixture, hostAssetFixture[:400], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		_, err := DecodeHostAssets(strings.NewReader(doc), func(h HostAsset) error {
			if !strings.Contains(doc, string(h.Raw)) {
				t.Fatalf("raw %q not in the document", h.Raw)
			}
			_, err := h.JSON()
			return err
		})
		checkDecodeErr(t, err)
	})
}

func FuzzDecodeDetections(f *testing.F) {
	for _, s := range []string{detectionFixture, detectionLastFixture, detectionEmptyFixture, detectionFixture[:500], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		_, err := DecodeDetections(strings.NewReader(doc), func(h DetectionHost) error {
			if !strings.Contains(doc, string(h.Raw)) {
				t.Fatalf("raw %q not in the document", h.Raw)
			}
			return nil
		})
		checkDecodeErr(t, err)
	})
}

func FuzzDecodeKnowledgeBase(f *testing.F) {
	for _, s := range []string{kbFixture, kbEmptyFixture, kbFixture[:450], `<SIMPLE_RETURN><RESPONSE><CODE>1960</CODE><TEXT>x</TEXT></RESPONSE></SIMPLE_RETURN>`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		_, err := DecodeKnowledgeBase(strings.NewReader(doc), func(v Vuln) error {
			if !strings.Contains(doc, string(v.Raw)) {
				t.Fatalf("raw %q not in the document", v.Raw)
			}
			return nil
		})
		checkDecodeErr(t, err)
	})
}
