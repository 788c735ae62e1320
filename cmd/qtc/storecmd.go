package main

import (
	"fmt"

	"qtc/store"
)

// storeCommand maintains the store file itself.
func storeCommand() *command {
	return &command{
		name:    "store",
		summary: "Maintain the store file.",
		sub: []*command{{
			name: "compact",
			summary: "Rewrite the store into a new file without its free pages and rename it over the old one (mode kept). " +
				"Holds the store's lock throughout: refused while the browser or a sync has the store open, and nothing syncs meanwhile. " +
				"On any failure the store is left as it was. Prints the size before and after.",
			run: func(c *cli, pos []string) error {
				if err := needArgs(pos, 0, ""); err != nil {
					return err
				}
				path := c.dbPath
				if path == "" {
					p, err := store.DefaultPath()
					if err != nil {
						return err
					}
					path = p
				}
				before, after, err := store.Compact(c.ctx, path, store.Options{})
				if err != nil {
					return err
				}
				pct := 0.0
				if before > 0 {
					pct = 100 * float64(before-after) / float64(before)
				}
				fmt.Fprintf(c.stdout, "compacted %s: %s -> %s (%d -> %d bytes, %.0f%% recovered)\n", path, sizeText(before), sizeText(after), before, after, pct)
				return nil
			},
		}},
	}
}

// sizeText writes a byte count for people: 663.2 MiB, 12.0 KiB, 512 B.
func sizeText(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "-", -n
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%s%.1f GiB", neg, float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", neg, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%s%.1f KiB", neg, float64(n)/(1<<10))
	}
	return fmt.Sprintf("%s%d B", neg, n)
}
