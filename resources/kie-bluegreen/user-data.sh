#!/bin/bash
# Example EC2 user data for KIE Server generations managed by kie-bluegreen.
#
# kie-bluegreen tags every new Auto Scaling Group with
#   kie-bluegreen:release   = <group-id>:<artifact-id>:<version>
#   kie-bluegreen:container = <container-id>   (container.id, with {version} filled in)
# and propagates both tags to the instances it launches. This script reads them from the
# instance metadata and has KIE Server deploy the container at boot through
# KIE_SERVER_CONTAINER_DEPLOYMENT=<container-id>=<group-id>:<artifact-id>:<version>, so one launch
# template serves every release. With a fixed container.id (`app`) the container id never
# changes; with a template (`app-{version}`) each release runs under its own id.
#
# Requirements: IMDSv2 with instance metadata tags enabled (launch template
# MetadataOptions: HttpTokens=required, InstanceMetadataTags=enabled); Docker on the AMI; the
# KJAR reachable in the Maven repository the image is configured with.
# Adapt: DEFAULT_CONTAINER_ID (used by servers launched before the container tag existed), IMAGE
# and the Maven settings.
set -euo pipefail

DEFAULT_CONTAINER_ID="app"
IMAGE="quay.io/kiegroup/kie-server-showcase:latest"
IMDS="http://169.254.169.254/latest"

token=$(curl -sf -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
tag() {
  # A tag the instance does not carry answers 404: print nothing then.
  curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/tags/instance/$1" || true
}
release=$(tag kie-bluegreen:release)
container_id=$(tag kie-bluegreen:container)
container_id=${container_id:-$DEFAULT_CONTAINER_ID}

# The tags come from the runner, which only writes group:artifact:version and container ids of
# letters, digits, '.', '_' and '-'; refuse anything else.
if ! [[ "$release" =~ ^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
  echo "kie-bluegreen:release tag missing or malformed: '$release'" >&2
  exit 1
fi
if ! [[ "$container_id" =~ ^[A-Za-z0-9_.-]{1,128}$ ]]; then
  echo "kie-bluegreen:container tag malformed: '$container_id'" >&2
  exit 1
fi
echo "starting KIE Server with container $container_id = $release"

docker run -d --name kie-server --restart unless-stopped -p 8080:8080 \
  -e KIE_SERVER_CONTAINER_DEPLOYMENT="$container_id=$release" \
  -e KIE_SERVER_ID="kie-server-$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/instance-id")" \
  "$IMAGE"

# The ALB health check (and `kie-bluegreen phase wait`) use
#   GET /kie-server/services/rest/server/readycheck  -> 200 once the container is started.
# With launch-template.user-data configured instead, the runner renders a template like this one
# per release: write {{release}} and {{container_id}} where this script reads the tags.
