package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// TestRaceOneOAuthClientPerComponent: 40 concurrent creates for one
// component: exactly one wins, the rest get 409, one row is stored.
func TestRaceOneOAuthClientPerComponent(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)

	const n = 40
	statuses := make([]int, n)
	codes := make([]string, n)
	apitest.Race(t, n, func(i int, t testing.TB) {
		r := newOAuthClient(t, e.For(t), tid, &admin, comp, fmt.Sprintf("racer-%d", i), fmt.Sprintf("racer-secret-%04d", i))
		statuses[i] = r.Status
		if r.Status == http.StatusConflict {
			if errs := r.Errors(t); len(errs) > 0 {
				codes[i], _ = errs[0]["code"].(string)
			}
		}
	})
	won, lost := 0, 0
	winner := -1
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			won++
			winner = i
		case http.StatusConflict:
			lost++
			if codes[i] != "oauth_client_exists" {
				t.Errorf("racer %d: 409 with code %q", i, codes[i])
			}
		default:
			t.Errorf("racer %d: status %d", i, s)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d created, %d conflicts; want 1 and %d (statuses %v)", won, lost, n-1, statuses)
	}
	if c := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1 AND component_id = $2", tid, comp); c != 1 {
		t.Fatalf("%d rows for the component, want 1", c)
	}
	var clientID string
	if err := e.App.DB.SQL().QueryRow("SELECT client_id FROM oauth_clients WHERE tenant_id = $1", tid).Scan(&clientID); err != nil {
		t.Fatal(err)
	}
	if clientID != fmt.Sprintf("racer-%d", winner) {
		t.Errorf("stored client_id %q, but racer %d got the 201", clientID, winner)
	}
	if c := countRows(t, e, "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'oauth_client.create'", tid); c != 1 {
		t.Errorf("%d create audit events, want 1 (losers must roll back theirs)", c)
	}
}

// flowRound is one round of a race between creators flow creates on comp
// and one other change (change returns its status), released together;
// change gets the Env that reports to its own goroutine.
type flowRound struct {
	ids      []string // the created flows' ids ("" for a create that lost)
	statuses []int    // each create's status
	other    int      // the other change's status
}

func raceFlowCreates(t *testing.T, e *apitest.Env, tid string, creds *apitest.Creds, round, creators int, comp string, change func(e *apitest.Env) int) flowRound {
	t.Helper()
	r := flowRound{ids: make([]string, creators), statuses: make([]int, creators)}
	apitest.Race(t, creators+1, func(i int, t testing.TB) {
		e := e.For(t)
		if i == creators {
			r.other = change(e)
			return
		}
		res := e.Post(tenantPath(tid, "/flows"), creds, flowDoc(fmt.Sprintf("round %d flow %d", round, i), comp))
		r.statuses[i] = res.Status
		if res.Status == http.StatusCreated {
			r.ids[i] = res.ID(t)
		}
	})
	return r
}

// flowsCreated counts the 201s among a round's flow creates; a create may
// only lose with 422, anything else fails the test.
func flowsCreated(t *testing.T, round int, statuses []int) int {
	t.Helper()
	created := 0
	for i, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusUnprocessableEntity:
		default:
			t.Errorf("round %d: flow %d got %d", round, i, s)
		}
	}
	return created
}

// deleteFlows removes the flows a round created (empty ids are losers).
func deleteFlows(t *testing.T, e *apitest.Env, tid string, creds *apitest.Creds, ids []string) {
	t.Helper()
	for _, id := range ids {
		if id != "" {
			e.Delete(tenantPath(tid, "/flows/"+id), creds).ExpectStatus(t, http.StatusNoContent)
		}
	}
}

// orphanFlowComponents counts flow_components rows whose component needs an
// OAuth client that the flow's tenant does not have.
const orphanFlowComponents = `SELECT count(*) FROM flow_components fc
	JOIN components c ON c.tenant_id = fc.component_tenant_id AND c.id = fc.component_id
	WHERE c.use_oauth_client AND NOT EXISTS (
		SELECT 1 FROM oauth_clients oc WHERE oc.tenant_id = fc.tenant_id AND oc.component_id = fc.component_id)`

// TestRaceDeleteOAuthClientVersusFlow: deleting a client and creating
// flows that include its component, concurrently, never leave a flow on a
// component whose client is gone.
func TestRaceDeleteOAuthClientVersusFlow(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)

	const rounds, creators = 25, 6
	outcomes := map[string]int{}
	for round := 0; round < rounds; round++ {
		id := mustOAuthClient(t, e, tid, &admin, comp, "cid", "a-long-enough-secret")
		r := raceFlowCreates(t, e, tid, &admin, round, creators, comp, func(e *apitest.Env) int {
			return e.Delete(tenantPath(tid, "/oauth-clients/"+id), &admin).Status
		})
		flowStatus, flowIDs, delStatus := r.statuses, r.ids, r.other

		if n := countRows(t, e, orphanFlowComponents); n != 0 {
			t.Fatalf("round %d: %d flow_components rows on a component whose OAuth client is gone (delete %d, flows %v)",
				round, n, delStatus, flowStatus)
		}
		created := flowsCreated(t, round, flowStatus)
		switch delStatus {
		case http.StatusNoContent:
			if created != 0 {
				t.Fatalf("round %d: the client was deleted and %d flows including its component were created", round, created)
			}
			if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1", tid); n != 0 {
				t.Fatalf("round %d: 204 but %d clients remain", round, n)
			}
		case http.StatusConflict:
			if created == 0 {
				t.Fatalf("round %d: delete refused as in use, but no flow was created", round)
			}
			if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1 AND id = $2", tid, id); n != 1 {
				t.Fatalf("round %d: 409 but the client is gone", round)
			}
		default:
			t.Fatalf("round %d: delete got %d", round, delStatus)
		}
		if n := countRows(t, e, "SELECT count(*) FROM flow_components WHERE tenant_id = $1 AND component_id = $2", tid, comp); n != created {
			t.Fatalf("round %d: %d flows include the component, %d creates succeeded", round, n, created)
		}
		outcomes[fmt.Sprintf("delete %d, %d flows", delStatus, created)]++

		// Let go: remove the flows and the client, for the next round.
		deleteFlows(t, e, tid, &admin, flowIDs)
		if delStatus == http.StatusConflict {
			e.Delete(tenantPath(tid, "/oauth-clients/"+id), &admin).ExpectStatus(t, http.StatusNoContent)
		}
	}
	t.Logf("outcomes over %d rounds: %v", rounds, outcomes)
}

// TestRaceMoveOAuthClientVersusFlow: moving a client off its component
// while flows are being created on that component never strands a flow.
func TestRaceMoveOAuthClientVersusFlow(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	from := newOAuthComponent(t, e, tid, &admin)
	to := newOAuthComponent(t, e, tid, &admin)
	id := mustOAuthClient(t, e, tid, &admin, from, "cid", "a-long-enough-secret")

	const rounds, creators = 15, 5
	for round := 0; round < rounds; round++ {
		r := raceFlowCreates(t, e, tid, &admin, round, creators, from, func(e *apitest.Env) int {
			return e.Patch(tenantPath(tid, "/oauth-clients/"+id), &admin,
				doc("oauth-client", nil, map[string]any{"component": rel("component", to)})).Status
		})
		flowIDs, moveStatus := r.ids, r.other
		flowsCreated(t, round, r.statuses) // a create may only lose with 422
		if n := countRows(t, e, orphanFlowComponents); n != 0 {
			t.Fatalf("round %d: %d flow_components rows stranded by a move (move status %d)", round, n, moveStatus)
		}
		if moveStatus != http.StatusOK && moveStatus != http.StatusConflict {
			t.Fatalf("round %d: move got %d", round, moveStatus)
		}
		deleteFlows(t, e, tid, &admin, flowIDs)
		// Put it back for the next round.
		if moveStatus == http.StatusOK {
			e.Patch(tenantPath(tid, "/oauth-clients/"+id), &admin,
				doc("oauth-client", nil, map[string]any{"component": rel("component", from)})).ExpectStatus(t, http.StatusOK)
		}
	}
}

// TestRaceRequireOAuthClientVersusFlow: turning a component's
// useOAuthClient on while flows are being created on it (the tenant has no
// OAuth client for it) never leaves a flow on a component that now needs a
// client: either the change wins and every create is refused, or a flow
// wins and the change is refused.
func TestRaceRequireOAuthClientVersusFlow(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newComponent(t, e, tid, &admin, map[string]any{"descriptor": map[string]any{"useOAuthClient": false}})
	path := tenantPath(tid, "/components/"+comp)
	setUse := func(on bool) map[string]any {
		return doc("component", map[string]any{"descriptor": map[string]any{"useOAuthClient": on}}, nil)
	}

	const rounds, creators = 20, 5
	outcomes := map[string]int{}
	for round := 0; round < rounds; round++ {
		r := raceFlowCreates(t, e, tid, &admin, round, creators, comp, func(e *apitest.Env) int {
			return e.Patch(path, &admin, setUse(true)).Status
		})
		flowStatus, flowIDs, patchStatus := r.statuses, r.ids, r.other
		if n := countRows(t, e, orphanFlowComponents); n != 0 {
			t.Fatalf("round %d: %d flows on a component that needs a client the tenant lacks (patch %d, flows %v)",
				round, n, patchStatus, flowStatus)
		}
		created := flowsCreated(t, round, flowStatus)
		switch {
		case patchStatus == http.StatusOK && created != 0:
			t.Fatalf("round %d: useOAuthClient turned on and %d flows were created on it", round, created)
		case patchStatus == http.StatusConflict && created == 0:
			t.Fatalf("round %d: the change was refused as in use, but no flow was created", round)
		case patchStatus != http.StatusOK && patchStatus != http.StatusConflict:
			t.Fatalf("round %d: PATCH got %d", round, patchStatus)
		}
		outcomes[fmt.Sprintf("patch %d, %d flows", patchStatus, created)]++

		deleteFlows(t, e, tid, &admin, flowIDs)
		e.Patch(path, &admin, setUse(false)).ExpectStatus(t, http.StatusOK)
	}
	t.Logf("outcomes over %d rounds: %v", rounds, outcomes)
}
