package sim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"qtc/api/sim"
)

// A client authenticates at /auth and pages through a list until "last".
func Example() {
	s := sim.New(sim.Options{Policies: 5, Exceptions: 120})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()

	form := url.Values{"username": {"demo"}, "password": {"demo-pass-2026"}, "token": {"true"}}
	resp, err := http.Post(base+"/auth", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	jwt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println("auth:", resp.StatusCode)

	total := 0
	for page := 0; ; page++ {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/cloudview-api/rest/v1/exceptions/list?pageNo=%d&pageSize=50", base, page), nil)
		req.Header.Set("Authorization", "Bearer "+string(jwt))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var p struct {
			Content []json.RawMessage `json:"content"`
			Last    bool              `json:"last"`
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		total += len(p.Content)
		if p.Last {
			fmt.Println("pages:", page+1, "exceptions:", total)
			break
		}
	}
	// Output:
	// auth: 201
	// pages: 3 exceptions: 120
}

// An incremental sync: after a full pull, Mutate changes the data and a
// query with an updated window returns only what changed.
func ExampleServer_Mutate() {
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC) // a fixed clock: the output is the same every day
	s := sim.New(sim.Options{Now: func() time.Time { return now }})
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	form := url.Values{"username": {"demo"}, "password": {"demo-pass-2026"}, "token": {"true"}}
	resp, err := http.Post(base+"/auth", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err)
	}
	jwt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	res := s.Mutate(sim.Mutation{Type: sim.TypeEntraIDUser, Add: 2, Change: 3, Remove: 1, Seed: 1})
	fmt.Println("added", len(res.Added), "changed", len(res.Changed), "removed", len(res.Removed))

	window := url.QueryEscape("[now-5m..now]")
	req, _ := http.NewRequest(http.MethodGet, base+"/cloudview-api/rest/v1/resource/ENTRA_ID_USER/Azure?pageSize=50&updated="+window, nil)
	req.Header.Set("Authorization", "Bearer "+string(jwt))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var p struct {
		TotalElements int `json:"totalElements"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		panic(err)
	}
	fmt.Println("updated in the last 5 minutes:", p.TotalElements, "of", len(s.Records(sim.TypeEntraIDUser)))
	// Output:
	// added 2 changed 3 removed 1
	// updated in the last 5 minutes: 5 of 251
}
