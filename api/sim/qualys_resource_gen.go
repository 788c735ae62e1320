package sim

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"sync"
	"time"
)

// Resource generation. Each record i of a type draws from its own
// SplitMix64 stream (recRNG), so that records can be generated in parallel,
// regenerated alone (to know a record's ids without building the whole
// type) and stay the same when other counts change.

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// streamBase is the base state of a type's per-record streams.
func streamBase(seed int64, stream string) uint64 { return newRNG(seed, stream).next() }

// recRNG returns record i's stream.
func recRNG(base uint64, i int) *rng {
	r := &rng{s: base ^ mix64(uint64(i)+0x632BE59BD9B4E019)}
	r.next()
	return r
}

// hex returns n lowercase hex digits.
func (r *rng) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.next())
		copy(b[i:], w[:])
	}
	return hex.EncodeToString(b)[:n]
}

// upperHex returns n uppercase hex digits.
func (r *rng) upperHex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.intn(16)]
	}
	return string(b)
}

// b64 returns the standard base64 of n random bytes.
func (r *rng) b64(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.next())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// nameUUID is a version-3 (MD5, name-based) UUID of parts, as Qualys
// derives resource and connector uuids ("58eecb45-085c-3598-8794-...").
func nameUUID(parts ...string) string {
	h := md5.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var b [16]byte
	h.Sum(b[:0])
	b[6] = b[6]&0x0f | 0x30
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Time formats of the inventory records (each field keeps the format of
// the release notes' samples).
const (
	fmtSecZ       = "2006-01-02T15:04:05Z"          // Entra "created": "2026-04-21T07:45:56Z"
	fmt7Z         = "2006-01-02T15:04:05.0000000Z"  // ARM "created": "2026-04-27T13:11:50.2443387Z"
	fmtMilliPlus  = "2006-01-02T15:04:05.000-0700"  // "firstDiscoveredOn": "2026-04-29T07:12:06.025+0000"
	fmtMilliColon = "2006-01-02T15:04:05.000-07:00" // EC2 "created": "2025-11-20T09:06:20.749+00:00"
)

func tfmt(t time.Time, layout string) string { return t.UTC().Format(layout) }

// nanoZ is Go's RFC 3339 with trimmed nanoseconds, as the samples'
// "lastDiscoveredOn": "2026-04-29T13:55:56.51045078Z".
func nanoZ(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// genParallel builds n entries with gen(i), spread over the CPUs.
func genParallel(n int, gen func(i int) *entry) []*entry {
	out := make([]*entry, n)
	workers := min(runtime.GOMAXPROCS(0), max(1, n/512))
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / max(workers, 1)
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i] = gen(i)
			}
		}()
	}
	wg.Wait()
	return out
}

// timeline is when a resource was created in the cloud, first and last
// seen by the connector, and last updated.
type timeline struct {
	created, firstSeen, lastSeen, updated time.Time
}

// stale reports notDiscoveredInLast7Days.
func (t timeline) stale(day0 time.Time) bool { return t.lastSeen.Before(day0.Add(-7 * 24 * time.Hour)) }

// dur returns a random duration in [lo, hi).
func (r *rng) dur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.next()>>1%uint64(hi-lo))
}

const day = 24 * time.Hour

// recentUpdate is an update time in the year before day0, skewed to the
// recent past (a third in the last month), with sub-second precision.
func (r *rng) recentUpdate(day0 time.Time) time.Time {
	switch r.weighted([]int{35, 35, 30}) {
	case 0:
		return day0.Add(-r.dur(time.Minute, 30*day))
	case 1:
		return day0.Add(-r.dur(30*day, 180*day))
	default:
		return day0.Add(-r.dur(180*day, 365*day))
	}
}

// newTimeline draws a timeline ending before day0: created up to maxAge
// before the update, first seen soon after creation (not before the
// connector existed), last seen in the last two days (or, for a few stale
// records, weeks ago) and never before the update.
func newTimeline(r *rng, day0 time.Time, maxAge time.Duration) timeline {
	var t timeline
	t.updated = r.recentUpdate(day0)
	t.created = t.updated.Add(-r.dur(0, maxAge))
	if r.chance(0.04) {
		t.lastSeen = day0.Add(-r.dur(8*day, 40*day))
	} else {
		t.lastSeen = day0.Add(-r.dur(time.Minute, 2*day))
	}
	if t.lastSeen.Before(t.updated) {
		t.lastSeen = t.updated.Add(r.dur(0, time.Minute))
	}
	onboarded := day0.Add(-400 * day)
	t.firstSeen = t.created.Add(r.dur(time.Minute, 3*day))
	if t.firstSeen.Before(onboarded) {
		t.firstSeen = onboarded.Add(r.dur(0, day))
	}
	if t.firstSeen.After(t.lastSeen) {
		t.firstSeen = t.lastSeen.Add(-r.dur(0, time.Hour))
	}
	return t
}

// freshTimeline is the timeline of a resource that appeared just now.
func freshTimeline(r *rng, now time.Time) timeline {
	created := now.Add(-r.dur(time.Minute, time.Hour))
	return timeline{created: created, firstSeen: now, lastSeen: now, updated: now}
}

// azureTenant is the simulated customer's Azure estate: one tenant behind
// one org connector with member subscriptions.
type azureTenant struct {
	customerID  string
	tenantID    string
	org         string // "contoso"
	domain      string // "contoso.onmicrosoft.com"
	mailDomain  string // "contoso.com"
	connectorID string // the tenant (org) connector: Entra records
	scanID      string // its latest scan
	mgs         []string
	subs        []azureSub
}

type azureSub struct {
	id, name, connectorID, scanID string
}

var (
	azureOrgs = []string{"contoso", "fabrikam", "northwindtraders", "adatum", "tailspintoys", "wingtiptoys", "woodgrovebank", "litwareinc"}
	azureSubs = []string{"Production", "Prod-Payments", "Prod-Web", "Staging", "Dev-Sandbox", "Shared-Services",
		"Data-Platform", "Identity", "Connectivity", "Management", "Security-Tooling", "Analytics",
		"ML-Platform", "DR-Site", "Legacy-ERP", "Partner-Portal", "Mobile-Backend", "Finance-Reporting"}
	azureLocations = []string{"eastus", "eastus2", "westus2", "westeurope", "northeurope", "uksouth",
		"centralus", "southeastasia", "australiaeast", "germanywestcentral", "centralindia", "japaneast"}
	azureLocationWeights = []int{20, 12, 10, 14, 8, 6, 6, 5, 4, 5, 5, 5}
	azureRGs             = []string{"rg-network", "rg-web", "rg-api", "rg-data", "rg-aks", "rg-monitoring",
		"rg-security", "rg-identity", "rg-backup", "rg-shared", "rg-apps", "rg-integration", "rg-ml", "rg-iot",
		"MC_rg-aks_aks-prod_eastus", "DefaultResourceGroup-EUS", "NetworkWatcherRG", "cloud-shell-storage-westeurope"}
)

func newAzureTenant(seed int64, scale string) *azureTenant {
	r := newRNG(seed, "azure/tenant")
	org := r.pick(azureOrgs)
	a := &azureTenant{
		customerID: r.uuid(),
		tenantID:   r.uuid(),
		org:        org,
		domain:     org + ".onmicrosoft.com",
		mailDomain: org + ".com",
		scanID:     r.uuid(),
	}
	a.connectorID = nameUUID(a.customerID, "AZURE_ORG", a.tenantID)
	for i := 0; i < 3; i++ {
		a.mgs = append(a.mgs, r.uuid())
	}
	a.mgs[0] = a.tenantID // the tenant root group has the tenant's id
	nSubs := 3
	if scale == ScaleSeed {
		nSubs = 15
	}
	names := append([]string(nil), azureSubs...)
	r.shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i := 0; i < nSubs; i++ {
		id := r.uuid()
		a.subs = append(a.subs, azureSub{
			id: id, name: names[i%len(names)],
			connectorID: nameUUID(a.customerID, "AZURE", id),
			scanID:      r.uuid(),
		})
	}
	return a
}

// sub returns a subscription, the first ones more often (estates have a
// few big subscriptions).
func (a *azureTenant) sub(r *rng) azureSub {
	i := r.intn(len(a.subs))
	if r.chance(0.5) {
		i = r.intn(min(3, len(a.subs)))
	}
	return a.subs[i]
}

func (r *rng) location() string { return azureLocations[r.weighted(azureLocationWeights)] }

// Names of people, for Entra users.
var (
	firstNames = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
		"Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles",
		"Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Ashley",
		"Donald", "Kimberly", "Steven", "Emily", "Andrew", "Donna", "Paul", "Michelle", "Joshua", "Carol", "Kenneth",
		"Amanda", "Kevin", "Melissa", "Brian", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason",
		"Laura", "George", "Helen", "Edward", "Sharon", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Anna",
		"Nicholas", "Shirley", "Gary", "Angela", "Eric", "Ruth", "Jonathan", "Brenda", "Stephen", "Pamela", "Larry",
		"Nicole", "Justin", "Katherine", "Scott", "Samantha", "Brandon", "Christine", "Benjamin", "Emma", "Samuel",
		"Catherine", "Gregory", "Debra", "Alexander", "Rachel", "Patrick", "Carolyn", "Frank", "Janet", "Raymond",
		"Maria", "Priya", "Rahul", "Ananya", "Arjun", "Wei", "Li", "Yuki", "Hiroshi", "Sofia", "Mateo", "Lucia",
		"Lukas", "Lena", "Jonas", "Chloe", "Hugo", "Ines", "Omar", "Fatima", "Ahmed", "Aisha", "Olga", "Ivan",
		"Sipho", "Thandiwe", "Kwame", "Amara", "Mohammed", "Zara", "Noah", "Olivia", "Liam", "Ava", "Ethan", "Mia"}
	lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
		"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
		"Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
		"Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
		"Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard",
		"Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray",
		"Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross",
		"Foster", "Jimenez", "Sharma", "Gupta", "Singh", "Kumar", "Chen", "Wang", "Zhang", "Liu", "Tanaka", "Sato",
		"Suzuki", "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi", "Russo", "Bianchi", "Dubois",
		"Moreau", "Laurent", "Silva", "Santos", "Oliveira", "Kowalski", "Nowak", "Ivanov", "Petrov", "Okafor",
		"Mensah", "Dlamini", "Haddad", "Khan", "Ali", "Hassan", "OBrien", "Murray", "Fraser", "Lindqvist", "Berg"}
	jobTitles = []string{"Software Engineer", "Senior Software Engineer", "Product Manager", "Data Analyst",
		"Cloud Architect", "Security Analyst", "Account Executive", "HR Business Partner", "Financial Analyst",
		"Site Reliability Engineer", "Engineering Manager", "Customer Success Manager", "Marketing Specialist",
		"IT Support Specialist", "Data Scientist", "DevOps Engineer", "Sales Manager", "Legal Counsel",
		"Procurement Specialist", "Director of Engineering", "Chief Information Security Officer", "Intern"}
	offices       = []string{"Seattle", "New York", "London", "Berlin", "Bengaluru", "Singapore", "Sydney", "Toronto", "Paris", "Tokyo", "Remote"}
	languages     = []string{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "es-ES", "pt-BR", "hi-IN"}
	guestDomains  = []string{"gmail.com", "outlook.com", "partner-consulting.com", "auditfirm.com", "vendor.io", "agency.co.uk", "contractor.net"}
	userNameSpace = len(firstNames) * len(lastNames)
)

// personName returns record i's person: distinct (first, last, n) for
// every i, with n > 0 once the name space is used up.
func personName(i int) (first, last string, n int) {
	const a = 7919 // prime, coprime with the name space
	k := (i%userNameSpace*a + 104729) % userNameSpace
	return firstNames[k/len(lastNames)], lastNames[k%len(lastNames)], i / userNameSpace
}
