// Command kubecp builds the test control plane's programs into the cache
// (`kubecp build`), or runs the plane on loopback until interrupted
// (`kubecp up --dir DIR`), with a kubeconfig of its admin and one of the
// user "quell" bound to the ClusterRole that `quell steps --rbac` prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/quell-ir/quell/internal/app"
	"github.com/quell-ir/quell/internal/kubecp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kubecp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	verb := "build"
	if len(args) > 0 {
		verb, args = args[0], args[1:]
	}
	bins, err := kubecp.Build(log.Printf)
	if err != nil {
		return err
	}
	switch verb {
	case "build":
		for _, tool := range kubecp.Tools() {
			fmt.Println(tool.Name, bins[tool.Name])
		}
		return nil
	case "up", "down":
		fs := flag.NewFlagSet("kubecp "+verb, flag.ContinueOnError)
		dir := fs.String("dir", ".quell/kube", "the plane's data, certificates, kubeconfigs and logs (emptied first)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if verb == "down" {
			return down(*dir)
		}
		return up(ctx, *dir, bins)
	}
	return errors.New("usage: kubecp build | kubecp up [--dir DIR] | kubecp down [--dir DIR]")
}

func up(ctx context.Context, dir string, bins map[string]string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := down(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	plane, err := kubecp.Start(ctx, dir, bins)
	if err != nil {
		return err
	}
	defer plane.Stop()
	pidFile := filepath.Join(dir, "kubecp.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	if err := bindQuell(ctx, plane); err != nil {
		return err
	}
	admin, quell := filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "quell.kubeconfig")
	if err := kubecp.WriteKubeconfig(admin, plane.AdminConfig()); err != nil {
		return err
	}
	if err := kubecp.WriteKubeconfig(quell, plane.UserConfig("quell")); err != nil {
		return err
	}
	fmt.Printf("control plane up at %s, node %s\n  admin: KUBECONFIG=%s\n  quell: %s (kubernetes.clusters: [{name: local, kubeconfig: %s, match: {hosts: [%s]}}])\nCtrl-C or make kube-down stops it.\n",
		plane.Server, plane.NodeName, admin, quell, quell, plane.NodeName)
	<-ctx.Done()
	return nil
}

// bindQuell creates the library's ClusterRole and binds it to the user quell.
func bindQuell(ctx context.Context, plane *kubecp.Plane) error {
	kinds, err := app.Kinds()
	if err != nil {
		return err
	}
	pbs, err := app.LoadPlaybooks("", kinds)
	if err != nil {
		return err
	}
	role := app.ClusterRole("quell", kinds, pbs)
	cs, err := kubernetes.NewForConfig(plane.AdminConfig())
	if err != nil {
		return err
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "quell"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "quell"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "quell"}},
	}, metav1.CreateOptions{})
	return err
}

// down stops the plane that `kubecp up` runs in dir, if one does, and
// waits until it has stopped.
func down(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "kubecp.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%s/kubecp.pid: %w", dir, err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return nil // not running
	}
	for range 300 {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("kubecp (pid %d) did not stop within 30s", pid)
}
