#!/usr/bin/env bash
# Builds the tests' control plane, etcd and kube-apiserver, from their official Go modules at the versions
# test/cluster/go.mod pins, once per version into a cache directory; prints that directory. A later run
# with the binaries present builds nothing. Test infrastructure only: the product has no Go in it.
#   CLUSTER_CACHE  where the versioned directories live (default: ~/.cache/ingress-templater/cluster)
set -euo pipefail
cd "$(dirname "$0")/../test/cluster"
k8s=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' go.mod)
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2 }' go.mod)
dir="${CLUSTER_CACHE:-$HOME/.cache/ingress-templater/cluster}/kubernetes-$k8s-etcd-$etcd"
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ]; then
  echo "$dir"
  exit 0
fi
mkdir -p "$dir"
minor=$(echo "$k8s" | cut -d. -f2)
# the version the API server reports at /version (kubectl and clients read it); a plain go build leaves it
# at v0.0.0-master
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
start=$(date +%s)
echo "building kube-apiserver $k8s and etcd $etcd into $dir (several minutes on 2 cores)" >&2
tmp=$(mktemp -d "$dir/.build.XXXXXX")
go build -trimpath -ldflags "$ldflags" -o "$tmp/" ./cmd/etcd ./cmd/kube-apiserver
mv "$tmp/etcd" "$tmp/kube-apiserver" "$dir/"
rmdir "$tmp"
echo "built in $(($(date +%s) - start)) s" >&2
echo "$dir"
