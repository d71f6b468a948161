package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/rewrap"
)

// checkRewrap checks rewrap's flags before anything is done: -from-previous
// says what is re-sealed (and is required, so that the task is never run
// by accident), -batch how many rows a transaction takes.
func checkRewrap(task string, v map[string]string) (int, error) {
	if task != "rewrap" {
		return 0, nil
	}
	if v["from-previous"] == "" {
		return 0, usagef("admin rewrap: -from-previous is required: it re-seals what a key of OAUTHD_PREVIOUS_MASTER_KEYS sealed under OAUTHD_MASTER_KEY")
	}
	if v["batch"] == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v["batch"])
	if err != nil || n < 1 || n > 10000 {
		return 0, usagef("admin rewrap: -batch must be a whole number from 1 to 10000")
	}
	return n, nil
}

// adminRotateSigningKey makes a new signing key active now.
func adminRotateSigningKey(ctx context.Context, a *app.App, withdraw bool, out io.Writer) error {
	kid, err := a.Keys.RotateNow(ctx, withdraw)
	if err != nil {
		return err
	}
	if withdraw {
		_, err = fmt.Fprintf(out, "signing key %s signs from now; every other key is withdrawn: tokens they signed fail on every instance within the second\n", kid)
		return err
	}
	_, err = fmt.Fprintf(out, "signing key %s signs from now; the previous keys stay published until the tokens they signed expire\n", kid)
	return err
}

// adminRewrap re-seals what previous master keys sealed, reporting per
// table. Rows sealed with a key the keyring lacks are left and counted: the
// task then fails, naming them.
func adminRewrap(ctx context.Context, a *app.App, batch int, out io.Writer) error {
	results, err := a.Rewrap(ctx, rewrap.Options{BatchSize: batch})
	unopenable := 0
	for _, r := range results {
		fmt.Fprintf(out, "%-16s %d re-sealed", r.Target, r.Resealed)
		if r.Changed > 0 {
			fmt.Fprintf(out, ", %d rewritten meanwhile by a serving instance", r.Changed)
		}
		if r.Unopenable > 0 {
			fmt.Fprintf(out, ", %d sealed with a key that is neither OAUTHD_MASTER_KEY nor among OAUTHD_PREVIOUS_MASTER_KEYS", r.Unopenable)
			unopenable += r.Unopenable
		}
		fmt.Fprintln(out)
	}
	if err != nil {
		return fmt.Errorf("%w (what was re-sealed stays re-sealed; run the task again to go on)", err)
	}
	if unopenable > 0 {
		return fmt.Errorf("admin rewrap: %d values are sealed with a key this run does not have; add it to OAUTHD_PREVIOUS_MASTER_KEYS and run again", unopenable)
	}
	_, err = fmt.Fprintln(out, "nothing is sealed with a previous key any more: once every instance runs without it, remove it from OAUTHD_PREVIOUS_MASTER_KEYS")
	return err
}
