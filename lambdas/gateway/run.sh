#!/bin/bash
# Lambda entry point: the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this
# script, waits for the readiness path, then forwards each invocation to the server as HTTP.
exec python3 -m gateway.server
