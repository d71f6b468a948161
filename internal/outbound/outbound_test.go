package outbound_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/outbound"
)

// countingServer counts the requests that reach it.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

func TestPrivateAddressesAreRefusedWhenDialled(t *testing.T) {
	srv, hits := countingServer(t, ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := outbound.NewClient(outbound.Options{})
	for _, target := range []string{
		srv.URL,                             // 127.0.0.1 literally
		"http://localhost:" + port,          // a DNS name that resolves to 127.0.0.1
		"http://[::ffff:127.0.0.1]:" + port, // the IPv4-mapped form of it
	} {
		resp, err := client.Get(target)
		if err == nil {
			_ = resp.Body.Close()
			t.Fatalf("%s: the call went through", target)
		}
		if !errors.Is(err, outbound.ErrForbiddenAddress) {
			t.Fatalf("%s: %v, want ErrForbiddenAddress", target, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d refused calls reached the server", hits.Load())
	}
	// Development allows them.
	resp, err := outbound.NewClient(outbound.Options{AllowPrivate: true}).Get("http://localhost:" + port)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if hits.Load() != 1 {
		t.Fatal("with AllowPrivate the call did not arrive")
	}
}

func TestRedirectsAreReturnedNotFollowed(t *testing.T) {
	var followed atomic.Int32
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	resp, err := outbound.NewClient(outbound.Options{AllowPrivate: true}).Get(srv.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Fatalf("got %d %q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if followed.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

func TestLargeBodiesAreCut(t *testing.T) {
	tenMB := 10 << 20
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("length") == "announced" {
			w.Header().Set("Content-Length", "10485760")
		}
		chunk := []byte(strings.Repeat("x", 64<<10))
		for sent := 0; sent < tenMB; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, MaxResponseBytes: 1 << 20})

	resp, err := client.Get(srv.URL + "/?length=streamed")
	if err != nil {
		t.Fatal(err)
	}
	body, err := outbound.ReadBody(resp)
	_ = resp.Body.Close()
	if !errors.Is(err, outbound.ErrResponseTooLarge) {
		t.Fatalf("reading a 10 MB body: %v, want ErrResponseTooLarge", err)
	}
	if len(body) > 1<<20 {
		t.Fatalf("read %d bytes, past the 1 MiB limit", len(body))
	}

	if _, err := client.Get(srv.URL + "/?length=announced"); !errors.Is(err, outbound.ErrResponseTooLarge) {
		t.Fatalf("an announced 10 MB body: %v, want ErrResponseTooLarge", err)
	}

	// A body of exactly the limit is whole.
	exact, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(make([]byte, 1<<20)) })
	resp, err = client.Get(exact.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err = outbound.ReadBody(resp)
	_ = resp.Body.Close()
	if err != nil || len(body) != 1<<20 {
		t.Fatalf("a body of exactly the limit: %d bytes, %v", len(body), err)
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select { // never answers within the client's timeout
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	_, err := client.Get(srv.URL)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
}

func TestProxyFromTheEnvironmentIsIgnored(t *testing.T) {
	proxy, proxied := countingServer(t, ok)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	// A name that cannot resolve here: only a proxy could answer it.
	resp, err := outbound.NewClient(outbound.Options{}).Get("http://oauthd-outbound-test.invalid/")
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("the call succeeded, so it went through the proxy")
	}
	if proxied.Load() != 0 {
		t.Fatal("the client used HTTP_PROXY")
	}
}

func TestCheckURL(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		switch host {
		case "public.example":
			return []net.IP{net.ParseIP("93.184.216.34"), net.ParseIP("2606:2800:220:1::1")}, nil
		case "sneaky.example":
			return []net.IP{net.ParseIP("93.184.216.34"), net.ParseIP("10.0.0.7")}, nil
		case "metadata.example":
			return []net.IP{net.ParseIP("169.254.169.254")}, nil
		}
		return nil, errors.New("no such host")
	}
	prod := outbound.URLChecker{Lookup: lookup}
	dev := outbound.URLChecker{AllowPrivate: true, Lookup: lookup}
	cases := []struct {
		checker outbound.URLChecker
		url     string
		want    string // a part of the sentence; "" means accepted
	}{
		{prod, "https://public.example/hooks", ""},
		{prod, "https://public.example:8443/hooks?x=1", ""},
		{prod, "https://93.184.216.34/hooks", ""},
		{prod, "", "absolute URL"},
		{prod, "/hooks", "absolute https URL"},
		{prod, "ftp://public.example/", "absolute https URL"},
		{prod, "mailto:a@b.c", "absolute https URL"},
		{prod, "http://public.example/hooks", "must use https"},
		{prod, "https://user:pw@public.example/", "credentials"},
		{prod, "https:///hooks", "must name a host"},
		{prod, "https://127.0.0.1/hooks", "loopback"},
		{prod, "https://localhost:8080/", "loopback name"},
		{prod, "https://[::1]/", "loopback"},
		{prod, "https://10.1.2.3/", "private"},
		{prod, "https://172.16.0.1/", "private"},
		{prod, "https://172.31.255.254/", "private"},
		{prod, "https://192.168.0.10/", "private"},
		{prod, "https://100.64.0.1/", "carrier-grade NAT"},
		{prod, "https://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{prod, "https://169.254.10.10/", "link-local"},
		{prod, "https://[fe80::1]/", "link-local"},
		{prod, "https://[fd00::1]/", "private"},
		{prod, "https://[fc00::1]/", "private"},
		{prod, "https://0.0.0.0/", "unspecified"},
		{prod, "https://[::]/", "unspecified"},
		{prod, "https://224.0.0.1/", "multicast"},
		{prod, "https://[ff02::1]/", "multicast"},
		{prod, "https://[::ffff:10.0.0.1]/", "private"},
		{prod, "https://[::ffff:169.254.169.254]/", "cloud metadata"},
		{prod, "https://[64:ff9b::a9fe:a9fe]/", "cloud metadata"},
		{prod, "https://[::ffff:0:7f00:1]/", "loopback"},
		{prod, "https://[2002:a9fe:a9fe::1]/", "cloud metadata"},
		{prod, "https://[2002:7f00:1::1]/", "loopback"},
		{prod, "https://[2002:a00:7::]/", "private"},
		{prod, "https://[64:ff9b:1::a00:7]/", "local-use NAT64"},
		{prod, "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"},
		{prod, "https://[100::1]/", "discard-only"},
		{prod, "https://[2002:5db8:d822::1]/", ""},
		{prod, "https://[2001:4860:4860::8888]/", ""},
		{prod, "https://sneaky.example/", "resolves to 10.0.0.7"},
		{prod, "https://metadata.example/", "cloud metadata"},
		{prod, "https://nowhere.example/", "does not resolve"},
		{prod, "https://172.32.0.1/", ""},
		{prod, "https://100.128.0.1/", ""},
		{dev, "http://127.0.0.1:9000/hooks", ""},
		{dev, "http://localhost/hooks", ""},
		{dev, "ftp://localhost/", "absolute https URL"},
	}
	for _, c := range cases {
		got := c.checker.CheckURL(context.Background(), c.url)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("CheckURL(%q, allow private %v) = %q, want %q", c.url, c.checker.AllowPrivate, got, c.want)
		}
	}
}
