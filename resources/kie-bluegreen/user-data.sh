#!/bin/bash
# Example EC2 user data for KIE Server generations managed by kie-bluegreen.
#
# kie-bluegreen tags every new Auto Scaling Group with
#   kie-bluegreen:release = <group-id>:<artifact-id>:<version>
# and propagates the tag to the instances it launches. This script reads that tag from the
# instance metadata and has KIE Server deploy the container at boot through
# KIE_SERVER_CONTAINER_DEPLOYMENT=<container-id>=<group-id>:<artifact-id>:<version>, so one launch
# template serves every release and the listener's fixed container id never changes.
#
# Requirements: IMDSv2 with instance metadata tags enabled (launch template
# MetadataOptions: HttpTokens=required, InstanceMetadataTags=enabled); Docker on the AMI; the
# KJAR reachable in the Maven repository the image is configured with.
# Adapt: CONTAINER_ID, IMAGE and the Maven settings.
set -euo pipefail

CONTAINER_ID="app"
IMAGE="quay.io/kiegroup/kie-server-showcase:latest"
IMDS="http://169.254.169.254/latest"

token=$(curl -sf -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
release=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/tags/instance/kie-bluegreen:release")

# The tag comes from the runner, which only writes group:artifact:version; refuse anything else.
if ! [[ "$release" =~ ^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9][A-Za-z0-9._+-]*$ ]]; then
  echo "kie-bluegreen:release tag missing or malformed: '$release'" >&2
  exit 1
fi
echo "starting KIE Server with container $CONTAINER_ID = $release"

docker run -d --name kie-server --restart unless-stopped -p 8080:8080 \
  -e KIE_SERVER_CONTAINER_DEPLOYMENT="$CONTAINER_ID=$release" \
  -e KIE_SERVER_ID="kie-server-$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/instance-id")" \
  "$IMAGE"

# The ALB health check (and `kie-bluegreen phase wait`) use
#   GET /kie-server/services/rest/server/readycheck  -> 200 once the container is started.
# With launch-template.user-data configured instead, the runner renders a template like this one
# per release: write {{release}} where this script reads the tag.
