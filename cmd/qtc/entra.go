package main

import (
	"flag"
	"fmt"
	"time"

	qsync "qtc/sync"
)

// entraAddCommand is `connector add entra|entra-devices NAME`.
func entraAddCommand(kind string) *command {
	var c qsync.EntraConnector
	var x extraFlags
	summary := "Add or update a Microsoft Entra ID identity connector (users, groups, roles; --scope posture adds applications, service principals and the tenant)."
	if kind == qsync.KindEntraDevices {
		summary = "Add or update a Microsoft Entra ID devices connector (Device.Read.All)."
	}
	return &command{
		name:    kind,
		args:    "NAME",
		summary: summary + " The client secret comes from $QTC_CLIENT_SECRET or a masked prompt, never a flag; it is stored encrypted.",
		flags: func(fs *flag.FlagSet) {
			registerEntraFlags(fs, kind, &c, &x)
		},
		run: func(cl *cli, pos []string) error {
			if err := needArgs(pos, 1, "connector NAME"); err != nil {
				return err
			}
			c.Kind, c.Name = kind, pos[0]
			var err error
			if c.Schedule, err = x.parseSchedule(time.Now()); err != nil {
				return err
			}
			c.AssetTags = qsync.ParseAssetTags(x.assetTags)
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
			cl.printSchedule(c.Schedule, c.Manual)
			return nil
		},
	}
}
