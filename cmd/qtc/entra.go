package main

import (
	"flag"
	"fmt"

	qsync "qtc/sync"
)

// entraAddCommand is `connector add entra|entra-devices NAME`.
func entraAddCommand(kind string) *command {
	var c qsync.EntraConnector
	summary := "Add or update a Microsoft Entra ID identity connector (users, groups, roles; --scope posture adds applications, service principals and the tenant)."
	if kind == qsync.KindEntraDevices {
		summary = "Add or update a Microsoft Entra ID devices connector (Device.Read.All)."
	}
	return &command{
		name:    kind,
		args:    "NAME",
		summary: summary + " The client secret comes from $QTC_CLIENT_SECRET or a masked prompt, never a flag; it is stored encrypted.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&c.TenantID, "tenant-id", "", "Directory (tenant) `ID` (a GUID, or a verified domain)")
			fs.StringVar(&c.ClientID, "client-id", "", "Application (client) `ID` of the app registration")
			fs.StringVar(&c.Cloud, "cloud", "", "`cloud`: global (default), usgov, china")
			fs.StringVar(&c.LoginURL, "login-url", "", "custom login `URL` (with --graph-url), e.g. a simulator's")
			fs.StringVar(&c.GraphURL, "graph-url", "", "custom Microsoft Graph `URL` (with --login-url)")
			fs.StringVar(&c.Token, "token", "", "token endpoint `version`: v1 (…/oauth2/token, default) or v2 (…/oauth2/v2.0/token)")
			fs.StringVar(&c.Baseline, "baseline", "", "full-pull `cadence`: weekly (default), fortnightly, triweekly, monthly")
			fs.BoolVar(&c.RetainDelta, "retain-delta", false, fmt.Sprintf("keep what the last %d runs added, changed and removed for :changes (default: the last run only)", qsync.RetainedChangeSets))
			fs.BoolVar(&c.Manual, "manual", false, "require manual sync: qtc sync without a NAME skips this connector; qtc sync NAME syncs it")
			if kind == qsync.KindEntra {
				fs.StringVar(&c.Scope, "scope", "", "asset `types`: identities (default: users, groups, roles) or posture (also applications, service principals, tenant)")
			}
		},
		run: func(cl *cli, pos []string) error {
			if err := needArgs(pos, 1, "connector NAME"); err != nil {
				return err
			}
			c.Kind, c.Name = kind, pos[0]
			c.ClientSecret = "x" // validate the flags before prompting
			if err := c.Validate(); err != nil {
				return &usageError{err: err}
			}
			secret, err := cl.readSecret("QTC_CLIENT_SECRET", fmt.Sprintf("Client secret of app %s: ", c.ClientID))
			if err != nil {
				return err
			}
			c.ClientSecret = secret
			eng, err := cl.engine()
			if err != nil {
				return err
			}
			defer eng.Store.Close()
			if _, err := eng.SaveEntra(cl.ctx, c); err != nil {
				return err
			}
			fmt.Fprintf(cl.stdout, "connector %s saved (client secret encrypted); sync it with: qtc sync %s\n", c.Name, c.Name)
			return nil
		},
	}
}
