package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sizeUsers is the seed's Entra ID user count (seed 000: 111,207).
const sizeUsers = 111207

// userLayout is sync/catalog's users list (display name, user principal
// name, type, enabled, mail, department, created) plus the job title: 8
// indexed columns.
var userLayout = Layout{Columns: []ColumnKind{Text, Text, Text, Text, Text, Text, Time, Text}}

var (
	sizeDepartments = []string{"Finance", "Engineering", "Sales", "Marketing", "Human Resources", "Legal", "Operations", "Support", "IT", "Research"}
	sizeTitles      = []string{"Analyst", "Senior Engineer", "Account Executive", "Manager", "Director", "Associate", "Consultant", "Specialist"}
	sizeGiven       = []string{"Adele", "Alex", "Diego", "Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam", "Nestor", "Patti", "Pradeep"}
	sizeSurnames    = []string{"Vance", "Wilber", "Siciliani", "Archie", "Mueller", "Langer", "Lorenz", "Sherman", "Gu", "Holloway", "Robbins", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta"}
)

// graphUser returns Graph user i as /users/delta with the seed's $select
// returns it (about 1.2 KB), and its 8 cells in userLayout.
func graphUser(i int) Record {
	h := fnv.New128a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h.Write(b[:])
	s := h.Sum(nil)
	s = append(s, s...) // room for the shifted GUIDs below
	guid := func(p []byte) string { return fmt.Sprintf("%x-%x-%x-%x-%x", p[0:4], p[4:6], p[6:8], p[8:10], p[10:16]) }
	id := guid(s)
	given, sur := sizeGiven[i%len(sizeGiven)], sizeSurnames[(i/len(sizeGiven))%len(sizeSurnames)]
	upn := fmt.Sprintf("%s.%s%d@contoso.onmicrosoft.com", given, sur, i)
	dept, title := sizeDepartments[i%len(sizeDepartments)], sizeTitles[(i/3)%len(sizeTitles)]
	created := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 23 * time.Minute).Format("2006-01-02T15:04:05Z")
	userType, enabled := "Member", i%17 != 0
	if i%9 == 0 {
		userType = "Guest"
	}
	u := map[string]any{
		"@odata.type":                "#microsoft.graph.user",
		"id":                         id,
		"displayName":                given + " " + sur,
		"givenName":                  given,
		"surname":                    sur,
		"userPrincipalName":          upn,
		"mail":                       upn,
		"mailNickname":               fmt.Sprintf("%s%d", given, i),
		"jobTitle":                   title,
		"department":                 dept,
		"companyName":                "Contoso Ltd",
		"officeLocation":             fmt.Sprintf("%d/%d", 10+i%40, 1000+i%3000),
		"city":                       "Redmond",
		"country":                    "United States",
		"usageLocation":              "US",
		"preferredLanguage":          "en-US",
		"mobilePhone":                fmt.Sprintf("+1 425 555 %04d", i%10000),
		"businessPhones":             []string{fmt.Sprintf("+1 425 555 %04d", (i*7)%10000)},
		"employeeId":                 fmt.Sprintf("E%07d", i),
		"userType":                   userType,
		"accountEnabled":             enabled,
		"createdDateTime":            created,
		"lastPasswordChangeDateTime": created,
		"onPremisesSyncEnabled":      i%2 == 0,
		"onPremisesImmutableId":      fmt.Sprintf("%x", s[:12]),
		"onPremisesSamAccountName":   fmt.Sprintf("%s%d", given, i),
		"proxyAddresses":             []string{"SMTP:" + upn, "smtp:" + fmt.Sprintf("%s%d@contoso.com", given, i)},
		"assignedLicenses":           []map[string]any{{"disabledPlans": []string{}, "skuId": guid(s[2:])}},
		"signInActivity":             map[string]any{"lastSignInDateTime": created, "lastSignInRequestId": guid(s[1:])},
	}
	raw, _ := json.Marshal(u)
	return Record{ID: id, Raw: raw, Cells: []string{
		given + " " + sur, upn, userType, fmt.Sprint(enabled), upn, dept, created, title,
	}}
}

// bucketBytes sums the page bytes in use of the type's buckets: raw
// records (in rec, or in blobs with their references), rows, and the
// column indexes.
func bucketBytes(b testing.TB, s *Store, connector, typ string) (rec, row, ix int64) {
	b.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		tb := typeBucket(tx, connector, typ)
		if tb == nil {
			return fmt.Errorf("no type %s", typ)
		}
		return tb.ForEachBucket(func(k []byte) error {
			st := tb.Bucket(k).Stats()
			n := int64(st.BranchInuse + st.LeafInuse + st.InlineBucketInuse)
			switch {
			case bytes.Equal(k, bucketRec), bytes.Equal(k, bucketBlob), bytes.Equal(k, bucketRecRef):
				rec += n
			case bytes.Equal(k, bucketRow):
				row += n
			case bytes.HasPrefix(k, []byte("ix")):
				ix += n
			}
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return rec, row, ix
}

func fileSize(b testing.TB, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkStoreSize writes the seed's 111,207 Graph users (8 indexed
// columns) in 1,000-record pages — staged and merged, as the first full
// pull of a type does, or straight into the type page by page — and reports
// bytes on disk per record and against the raw JSON: as written, after
// compaction, and after deleting every second user and compacting again.
// Run it with -benchtime 1x.
func BenchmarkStoreSize(b *testing.B) {
	for _, staged := range []bool{true, false} {
		name := "direct"
		if staged {
			name = "staged"
		}
		b.Run(name, func(b *testing.B) { benchStoreSize(b, staged) })
	}
}

func benchStoreSize(b *testing.B, staged bool) {
	ctx := context.Background()
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "qtc.db")
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		var rawBytes int64
		ids := make([]string, 0, sizeUsers)
		for p := 0; p < sizeUsers; p += 1000 {
			recs := make([]Record, 0, 1000)
			for i := p; i < min(p+1000, sizeUsers); i++ {
				r := graphUser(i)
				rawBytes += int64(len(r.Raw))
				ids = append(ids, r.ID)
				recs = append(recs, r)
			}
			if _, err := s.WritePage(ctx, PageWrite{Connector: "entra", Type: "users", Layout: userLayout, Stream: "users", Stage: staged,
				Generation: 1, Records: recs, State: StreamState{Phase: PhasePaging, Generation: 1, Staged: staged}}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.MergeStaged(ctx, "entra", "users"); err != nil {
			b.Fatal(err)
		}
		rec, row, ix := bucketBytes(b, s, "entra", "users")
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		n := float64(sizeUsers)
		written := fileSize(b, path)
		_, compacted, err := Compact(ctx, path, Options{})
		if err != nil {
			b.Fatal(err)
		}

		s, err = Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for p := 0; p < len(ids); p += 2000 {
			var half []string
			for i := p; i < min(p+2000, len(ids)); i += 2 {
				half = append(half, ids[i])
			}
			if _, err := s.DeleteRecords(ctx, "entra", "users", half); err != nil {
				b.Fatal(err)
			}
		}
		left, err := s.Count(ctx, "entra", "users")
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		halfBefore := fileSize(b, path)
		_, halfAfter, err := Compact(ctx, path, Options{})
		if err != nil {
			b.Fatal(err)
		}

		b.ReportMetric(float64(rawBytes)/n, "raw-B/rec")
		b.ReportMetric(float64(rec)/n, "recbucket-B/rec")
		b.ReportMetric(float64(row)/n, "rows-B/rec")
		b.ReportMetric(float64(ix)/n, "indexes-B/rec")
		b.ReportMetric(float64(written)/n, "file-B/rec")
		b.ReportMetric(float64(written)/float64(rawBytes), "file/raw")
		b.ReportMetric(float64(compacted)/n, "compacted-B/rec")
		b.ReportMetric(float64(compacted)/float64(rawBytes), "compacted/raw")
		b.ReportMetric(float64(halfBefore)/float64(left), "halfdeleted-B/rec")
		b.ReportMetric(float64(halfAfter)/float64(left), "halfcompacted-B/rec")
		b.Logf("%d users, raw JSON %d B; file as written %d B, compacted %d B; half deleted %d B, compacted %d B",
			sizeUsers, rawBytes, written, compacted, halfBefore, halfAfter)
	}
}
