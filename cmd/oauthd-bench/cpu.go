package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// CPU per request: the CPU time the oauthd process and the PostgreSQL
// server (the postmaster and every process it started) spent during a
// scenario's measured windows, divided by its requests, read from Linux's
// /proc. PostgreSQL's processes that end during a window take their time
// with them, but oauthd keeps its pool's connections open, so its
// backends live through the run.

// cpuProbe reads the CPU time of the server and of PostgreSQL (a pid of 0
// is not read).
type cpuProbe struct {
	server, postmaster int
}

// cpuTimes is CPU time (user and system) used.
type cpuTimes struct {
	server, postgres time.Duration
}

func (c cpuTimes) minus(o cpuTimes) cpuTimes {
	return cpuTimes{server: c.server - o.server, postgres: c.postgres - o.postgres}
}

func (c cpuTimes) plus(o cpuTimes) cpuTimes {
	return cpuTimes{server: c.server + o.server, postgres: c.postgres + o.postgres}
}

// newCPUProbe finds the postmaster of the database conn talks to (the
// parent of conn's backend), when it runs on this machine.
func newCPUProbe(ctx context.Context, conn *pgx.Conn, serverPID int) *cpuProbe {
	p := &cpuProbe{server: serverPID}
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		logf("cpu: no backend pid (%v); PostgreSQL's CPU is not measured", err)
		return p
	}
	if _, ppid, err := procStat(backend); err == nil {
		p.postmaster = ppid
	} else {
		logf("cpu: PostgreSQL's processes are not readable here (%v); its CPU is not measured", err)
	}
	return p
}

// sample reads both CPU times now.
func (p *cpuProbe) sample() cpuTimes {
	var t cpuTimes
	if p.server != 0 {
		t.server, _, _ = procStat(p.server)
	}
	if p.postmaster == 0 {
		return t
	}
	t.postgres, _, _ = procStat(p.postmaster)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if used, ppid, err := procStat(pid); err == nil && ppid == p.postmaster {
			t.postgres += used
		}
	}
	return t
}

// clockTick is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTick = 10 * time.Millisecond

// procStat is a process's CPU time (user and system) and its parent's pid.
func procStat(pid int) (time.Duration, int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ppid, _ := strconv.Atoi(f[1])
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * clockTick, ppid, nil
}

// perRequest is a CPU time per request, in microseconds ("–" when not measured).
func perRequest(d time.Duration, requests int) string {
	if d <= 0 || requests == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(requests))
}
