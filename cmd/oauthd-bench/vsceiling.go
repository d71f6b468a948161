package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The token endpoint against the ceiling (package ceiling): the same
// client_credentials request, with the same client's credentials, sent at
// concurrency 32 to `oauthd serve` and to the ceiling, in alternating legs
// (oauthd, ceiling, ceiling, oauthd, oauthd, ...), each leg with its own
// warm-up, so that load from elsewhere on a shared machine weighs on both.
// What is compared is the CPU time each server process spent per answered
// request in its legs (from /proc); PostgreSQL's processes are reported
// beside oauthd's, the ceiling has none.

// ceilingScenario is the comparison's name for -auth-scenarios.
const ceilingScenario = "token-ceiling"

// ceilingLeg is one measured leg.
type ceilingLeg struct {
	ceiling  bool
	requests int
	errors   int
	cpu      cpuTimes
	rps      float64
	p99      time.Duration
}

func (l ceilingLeg) perRequest() time.Duration {
	if l.requests == 0 {
		return 0
	}
	return l.cpu.server / time.Duration(l.requests)
}

// ceilingRun is the outcome: the legs in the order they ran.
type ceilingRun struct {
	rounds int
	legs   []ceilingLeg
}

// ratios are oauthd's CPU per request over the ceiling's, one per round
// (a round is one oauthd leg and the ceiling leg beside it).
func (r *ceilingRun) ratios() []float64 {
	var out []float64
	for i := 0; i+1 < len(r.legs); i += 2 {
		a, b := r.legs[i], r.legs[i+1]
		if a.ceiling {
			a, b = b, a
		}
		if b.perRequest() > 0 {
			out = append(out, float64(a.perRequest())/float64(b.perRequest()))
		}
	}
	return out
}

// pooled sums each side's legs: CPU over requests, and the server's
// answers per second over the side's measured time.
func (r *ceilingRun) pooled(ceiling bool) ceilingLeg {
	var s ceilingLeg
	n := 0
	for _, l := range r.legs {
		if l.ceiling != ceiling {
			continue
		}
		n++
		s.requests += l.requests
		s.errors += l.errors
		s.cpu = s.cpu.plus(l.cpu)
		s.rps += l.rps
		s.p99 = max(s.p99, l.p99)
	}
	s.ceiling = ceiling
	if n > 0 {
		s.rps /= float64(n)
	}
	return s
}

// ceilingRounds is how many oauthd/ceiling pairs of legs are measured.
var ceilingRounds = 4

// compareCeiling runs the comparison against srv (whose CPU probe is
// oauthdProbe) and a ceiling started here for the token client.
func compareCeiling(ctx context.Context, base, issuer string, t *target, oauthdProbe *cpuProbe, warmup, leg time.Duration) (*ceilingRun, error) {
	ceil, err := startCeiling(t.api.clientID, t.api.clientSecret, t.tenantID.String(), issuer)
	if err != nil {
		return nil, fmt.Errorf("ceiling: %w", err)
	}
	defer ceil.stop()
	ceilProbe := &cpuProbe{server: ceil.cmd.Process.Pid}
	sc := tokenScenario(highC, "")
	run := &ceilingRun{rounds: ceilingRounds}
	for round := 0; round < ceilingRounds; round++ {
		order := []bool{false, true} // oauthd first in even rounds
		if round%2 == 1 {
			order = []bool{true, false}
		}
		for _, isCeiling := range order {
			b, p := base, oauthdProbe
			if isCeiling {
				b, p = ceil.base, ceilProbe
			}
			ws, _, used, err := drive(ctx, sc, b, "", t, highC, warmup, leg, p)
			if err != nil {
				return nil, fmt.Errorf("ceiling comparison (ceiling=%v): %w", isCeiling, err)
			}
			st := summarize(sc, ws, highC, leg)[0]
			run.legs = append(run.legs, ceilingLeg{ceiling: isCeiling, requests: st.Requests, errors: st.Errors,
				cpu: used, rps: st.RPS, p99: st.P99})
			who := "oauthd "
			if isCeiling {
				who = "ceiling"
			}
			logf("  token %s c=%d %8.0f req/s  p99 %7s  CPU %s/req (PostgreSQL %s/req)  errors %d", who, highC, st.RPS, ms(st.P99),
				cpuMS(used.server, st.Requests), cpuMS(used.postgres, st.Requests), st.Errors)
		}
	}
	rs := run.ratios()
	logf("  oauthd ÷ ceiling CPU per token request: %s", ratioSpread(rs))
	return run, nil
}

// cpuMS is a CPU time per request in milliseconds ("–" when not measured).
func cpuMS(d time.Duration, requests int) string {
	if d <= 0 || requests == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000/float64(requests))
}

// ratioSpread says a list of ratios as its median and range.
func ratioSpread(rs []float64) string {
	if len(rs) == 0 {
		return "not measured"
	}
	s := slices.Clone(rs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("median %.2fx, range %.2f–%.2fx over %d rounds", med, s[0], s[len(s)-1], len(s))
}

// ceilingSection is the comparison's part of the report.
func ceilingSection(w func(string, ...any), r *ceilingRun) {
	w("### Token endpoint against the ceiling (this run)\n\n")
	w("The same `client_credentials` request (client_secret_basic, the token client's id and secret) at concurrency %d, sent to `oauthd serve` and to the ceiling, ", highC)
	w("a ~60-line token endpoint in a process of its own (`cmd/oauthd-bench/ceiling`: net/http, an HMAC-SHA256 check of the secret, an ES256 JWT; no database, log or metrics), ")
	w("in alternating legs (oauthd, ceiling, ceiling, oauthd, …), each with its own warm-up. CPU per token is the server process's CPU time (user and system, /proc) in its legs over the tokens it answered; PostgreSQL's is oauthd's alone and stated beside it.\n\n")
	w("| leg | server | tokens/s | p99 | server CPU per token | PostgreSQL CPU per token | errors |\n|---|---|---|---|---|---|---|\n")
	for i, l := range r.legs {
		who := "oauthd"
		if l.ceiling {
			who = "ceiling"
		}
		pg := cpuMS(l.cpu.postgres, l.requests)
		if l.ceiling {
			pg = "–"
		}
		w("| %d | %s | %.0f | %s | %s | %s | %d |\n", i+1, who, l.rps, ms(l.p99), cpuMS(l.cpu.server, l.requests), pg, l.errors)
	}
	o, c := r.pooled(false), r.pooled(true)
	w("\nAll legs together: oauthd %s per token (PostgreSQL %s more), the ceiling %s: **%.2fx**; per round (an oauthd leg and the ceiling leg beside it) %s.\n\n",
		cpuMS(o.cpu.server, o.requests), cpuMS(o.cpu.postgres, o.requests), cpuMS(c.cpu.server, c.requests),
		ratio(float64(o.perRequest()), float64(c.perRequest())), ratioSpread(r.ratios()))
}
