#!/usr/bin/env bash
# Restores, builds the solution (Release) and publishes the NativeAOT doppel and doppel-agent to
# artifacts/doppel and artifacts/doppel-agent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_packages "${BUILD_PACKAGES[@]}"

# Copy, then rename over the old file: a binary that is running (a demo, a test) cannot be
# written in place ("Text file busy"), but it can be replaced.
install_binary() {
  cp "$1" "$2.new"
  mv -f "$2.new" "$2"
}

say "restoring"
dotnet restore doppel.slnx --nologo -v q

say "building (Release)"
dotnet build doppel.slnx -c Release --no-restore --nologo -v q -clp:ErrorsOnly

say "publishing NativeAOT artifacts/doppel"
rm -rf artifacts/publish
dotnet publish src/Doppel.Cli/Doppel.Cli.csproj -c Release -r linux-x64 --nologo -v q -clp:ErrorsOnly \
  -p:PublishAot=true -p:CppCompilerAndLinker=gcc -o artifacts/publish/doppel
mkdir -p artifacts
install_binary artifacts/publish/doppel/doppel artifacts/doppel
say "built $(artifacts/doppel --version) -> artifacts/doppel"

say "publishing NativeAOT artifacts/doppel-agent"
dotnet publish src/Doppel.Agent/Doppel.Agent.csproj -c Release -r linux-x64 --nologo -v q -clp:ErrorsOnly \
  -p:PublishAot=true -p:CppCompilerAndLinker=gcc -o artifacts/publish/doppel-agent
install_binary artifacts/publish/doppel-agent/doppel-agent artifacts/doppel-agent
say "built doppel-agent -> artifacts/doppel-agent"
