package rig

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says how to start a process and how to tell it is ready.
type Spec struct {
	// Name names the process in errors and its log file.
	Name string
	// Bin and Args are the command.
	Bin  string
	Args []string
	// Env is added to the rig's own environment.
	Env []string
	// Ready is a substring of the stdout line that says the process is ready.
	Ready string
	// LogDir receives <Name>.log with the process's stdout and stderr.
	LogDir string
}

// Proc is a child process. It runs in its own process group, so a Ctrl-C
// at the terminal reaches only the rig, and dies with the rig (SIGKILL).
type Proc struct {
	spec    Spec
	cmd     *exec.Cmd
	log     *tail
	exited  chan struct{}
	waitErr error

	// Started is when the process was started.
	Started time.Time
	// Ready is when its ready line was read.
	Ready time.Time
	// ReadyLine is that line.
	ReadyLine string
}

// readyTimeout bounds the wait for a process's ready line.
const readyTimeout = 2 * time.Minute

// Start starts the process and waits for its ready line.
func Start(ctx context.Context, spec Spec) (*Proc, error) {
	logFile, err := os.OpenFile(filepath.Join(spec.LogDir, spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &Proc{spec: spec, log: &tail{w: logFile}, exited: make(chan struct{})}
	p.cmd = exec.Command(spec.Bin, spec.Args...)
	p.cmd.Env = append(os.Environ(), spec.Env...)
	p.cmd.Stdout, p.cmd.Stderr = pw, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p.Started = time.Now()
	err = p.cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		p.scan(pr, ready)
		close(scanned)
	}()
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
		<-scanned
		logFile.Close()
	}()
	select {
	case line := <-ready:
		p.Ready, p.ReadyLine = time.Now(), line
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", spec.Name, p.waitErr, p.Output())
	case <-time.After(readyTimeout):
	case <-ctx.Done():
	}
	p.Kill()
	return nil, fmt.Errorf("%s not ready (%v)\n%s", spec.Name, context.Cause(ctx), p.Output())
}

// scan copies stdout to the log and reports the ready line.
func (p *Proc) scan(r io.ReadCloser, ready chan<- string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(p.log, line)
		if !sent && strings.Contains(line, p.spec.Ready) {
			ready <- line
			sent = true
		}
	}
}

// Pid is the process ID.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Kill kills the process with SIGKILL and waits for it to end.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// Stop asks the process to end with SIGTERM and kills it after ten seconds.
func (p *Proc) Stop() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Output is the end of the process's stdout and stderr.
func (p *Proc) Output() string { return p.log.String() }

// RSS returns the process's resident set size in bytes, from VmRSS in
// /proc/<pid>/status.
func (p *Proc) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, fmt.Errorf("rss of %s: %w", p.spec.Name, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss of %s: %q: %w", p.spec.Name, line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("rss of %s: no VmRSS line", p.spec.Name)
}

// tail writes to a log file and keeps the last 16 KiB in memory.
type tail struct {
	mu  sync.Mutex
	w   io.WriteCloser
	buf []byte
}

const tailSize = 16 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return t.w.Write(b)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf[max(0, len(t.buf)-tailSize):])
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// BuildQuell builds cmd/quell of the module in repo into dir and returns
// the binary's path.
func BuildQuell(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "quell")
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "./cmd/quell")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.Join(fmt.Errorf("build quell: %w", err), errors.New(string(out)))
	}
	return bin, nil
}
