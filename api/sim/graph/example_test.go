package graphsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	graphsim "qtc/api/sim/graph"
)

// A client configured with LoginURL and GraphURL talks to the simulator
// exactly as to Microsoft: client-credentials token, then Graph with paging.
func Example() {
	s := graphsim.New(graphsim.Options{Users: 250})
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer s.Close()

	o := s.Options()
	resp, err := http.PostForm(s.LoginURL()+"/"+o.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {o.ClientID}, "client_secret": {o.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	users := 0
	for next := s.GraphURL() + "/v1.0/users?$select=id,accountEnabled&$top=100"; next != ""; {
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var page struct {
			NextLink string            `json:"@odata.nextLink"`
			Value    []json.RawMessage `json:"value"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		users += len(page.Value)
		next = page.NextLink
	}
	fmt.Println(users, "users;", len(s.Truth().Users), "in the tenant")
	// Output: 250 users; 250 in the tenant
}
