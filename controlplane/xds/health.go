package xds

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
)

// PanicsMetric is the sdk adapter's counter of recovered panics (sdk.PanicsMetric), as Envoy
// names it in its stats.
const PanicsMetric = "wasmcustom.wasmesh_plugin_panics_total"

// healthFilter selects the stats the poller reads: Envoy's per-plugin reload counters
// (wasm.<plugin config name>.vm_reload*) and the adapter's panic counter.
const healthFilter = `^wasm\.wasmesh\.plugin\..*\.vm_reload|^` + `wasmcustom\.wasmesh_plugin_panics_total`

// pluginStats is one WasmPlugin's health on one node, from the node's own stats.
type pluginStats struct {
	Panics, Reloads, ReloadFailures, ReloadBackoffs int64
}

func (p pluginStats) String() string {
	var parts []string
	if p.Panics > 0 {
		parts = append(parts, fmt.Sprintf("crashed %d time(s), each failing one request (panics recovered)", p.Panics))
	}
	if p.Reloads > 0 {
		parts = append(parts, fmt.Sprintf("Envoy reloaded its VM %d time(s) after a trap", p.Reloads))
	}
	if p.ReloadFailures > 0 {
		parts = append(parts, fmt.Sprintf("%d reload(s) failed", p.ReloadFailures))
	}
	if p.ReloadBackoffs > 0 {
		parts = append(parts, fmt.Sprintf("%d request(s) failed while a reload backed off", p.ReloadBackoffs))
	}
	return strings.Join(parts, "; ")
}

// parseHealth reads admin /stats text lines into per-plugin stats, keyed by the plugin's
// ECDS name (wasmesh.plugin.<name>).
func parseHealth(body string) map[string]pluginStats {
	out := map[string]pluginStats{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(name, PanicsMetric+";"); ok {
			for kv := range strings.SplitSeq(rest, ";") {
				if plugin, ok := strings.CutPrefix(kv, "plugin="); ok {
					s := out[plugin]
					s.Panics += n
					out[plugin] = s
				}
			}
			continue
		}
		rest, ok := strings.CutPrefix(name, "wasm.")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, ".")
		if i < 0 {
			continue
		}
		plugin, stat := rest[:i], rest[i+1:]
		s := out[plugin]
		switch stat {
		case "vm_reload_success":
			s.Reloads += n
		case "vm_reload_failure":
			s.ReloadFailures += n
		case "vm_reload_backoff":
			s.ReloadBackoffs += n
		default:
			continue
		}
		out[plugin] = s
	}
	return out
}

// pollHealth reads every connected node's plugin stats from its admin (loopback addresses
// only, 1s timeout) every interval, until ctx ends.
func (s *Server) pollHealth(ctx context.Context) {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(s.cfg.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.mu.Lock()
		admins := map[string]string{}
		for id, n := range s.nodes {
			if n.streams > 0 && loopback(n.node.AdminAddress) && len(n.plugins()) > 0 {
				admins[id] = n.node.AdminAddress
			}
		}
		s.mu.Unlock()
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]map[string]pluginStats{}
		for id, addr := range admins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := fetchHealth(ctx, client, addr)
				if err != nil {
					s.cfg.Log.Debug("plugin health", "node", id, "err", err)
					return
				}
				mu.Lock()
				got[id] = h
				mu.Unlock()
			}()
		}
		wg.Wait()
		s.mu.Lock()
		changed := false
		for id, h := range got {
			if n := s.nodes[id]; n != nil && fmt.Sprint(n.health) != fmt.Sprint(h) {
				n.health, changed = h, true
			}
		}
		if changed {
			s.notifyLocked()
		}
		s.mu.Unlock()
	}
}

// loopback reports whether addr is host:port with a loopback IP: the server reads only
// sidecar admins on its own host, whatever address a node declares.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func fetchHealth(ctx context.Context, client *http.Client, admin string) (map[string]pluginStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/stats?filter="+url.QueryEscape(healthFilter), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin /stats: %s", resp.Status)
	}
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return parseHealth(b.String()), sc.Err()
}

// plugins returns the ECDS names of the WasmPlugins in the node's snapshot.
func (n *nodeState) plugins() []string {
	if n.res == nil {
		return nil
	}
	var out []string
	for k := range n.res.Sources() {
		if k.Kind == crd.KindWasmPlugin {
			out = append(out, translate.PluginECDSName(k))
		}
	}
	return out
}

// pluginHealth is the node's health of its WasmPlugins, for the status.
func (n *nodeState) pluginHealth() []api.PluginHealth {
	var out []api.PluginHealth
	for _, name := range n.plugins() {
		h, ok := n.health[name]
		if !ok || h == (pluginStats{}) {
			continue
		}
		out = append(out, api.PluginHealth{Plugin: name, Panics: h.Panics, Reloads: h.Reloads,
			ReloadFailures: h.ReloadFailures, ReloadBackoffs: h.ReloadBackoffs, Summary: h.String()})
	}
	return out
}
