package console_test

// Browser tests: headless Chromium, driven by chromedp, clicks through the
// console as a person would. One browser serves the whole package (each
// test gets a tab in a browser context of its own, so cookies are not
// shared); it starts with the first test that needs it and stops in
// TestMain. Where Chromium is missing the tests fail, saying how to
// install it. Screenshots go to $OAUTHD_SCREENSHOTS when set (make
// screenshots writes docs/screenshots), else to the test's temporary dir.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/oauthd/oauthd/api/apitest"
)

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	browserStop = func() {}
)

func TestMain(m *testing.M) {
	code := m.Run()
	browserStop()
	os.Exit(code)
}

// installHint is what a missing browser's failure says.
const installHint = "headless Chromium is needed for the console's browser tests: " +
	"apt-get install -y chromium (or make browser), or set OAUTHD_CHROMIUM to its path"

func chromiumPath() (string, error) {
	if p := os.Getenv("OAUTHD_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH")
}

func startBrowser() {
	path, err := chromiumPath()
	if err != nil {
		browserErr = err
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI, where the sandbox refuses to start
		chromedp.WindowSize(1280, 900),
		// The network is closed: nothing may phone home.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	browserStop = func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Do(ctx); err != nil {
		browserErr = fmt.Errorf("start %s: %w", path, err)
		return
	}
	browserCtx = ctx
}

// tab is a browser tab with cookies of its own; JavaScript confirm
// dialogs are accepted, as a person clicking OK would.
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newTab(t *testing.T) *tab {
	t.Helper()
	browserOnce.Do(startBrowser)
	if browserErr != nil {
		t.Fatalf("%s (%v)", installHint, browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	go func() {
		for _, err := range chromedp.Events(ctx, cdppage.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	dir := os.Getenv("OAUTHD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	return &tab{t: t, ctx: ctx, dir: dir}
}

// do runs the steps, each allowed 30 s.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

func (b *tab) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// text is the visible text of the first element matching css.
func (b *tab) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v (at %s)", css, err, b.location())
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression on the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// bodyText is everything the page shows.
func (b *tab) bodyText() string { return eval[string](b, "document.body.innerText") }

// shot saves a screenshot of the whole page as name.png.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// signIn opens the console, is sent to the sign-in page, signs in and
// comes back.
func (b *tab) signIn(base string, p person) {
	b.t.Helper()
	b.do(chromedp.Navigate(base+"/console"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), p.Email),
		chromedp.SendKeys(chromedp.ID("password"), p.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("header.top")))
	if loc := b.location(); !strings.HasSuffix(loc, "/console") {
		b.t.Fatalf("after sign-in at %s", loc)
	}
}

// click clicks the element and waits for an element of the next page.
func (b *tab) click(css, next string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS(next)))
}

// clickTo clicks the element and waits until the tab has loaded a page
// whose address contains where.
func (b *tab) clickTo(css, where string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	apitest.Eventually(b.t, 20*time.Second, func() error {
		if strings.Contains(b.location(), where) && eval[string](b, "document.readyState") == "complete" {
			return nil
		}
		return fmt.Errorf("clicked %s but the tab is at %s, not %s", css, b.location(), where)
	})
}
