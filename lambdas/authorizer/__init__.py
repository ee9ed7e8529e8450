"""API Gateway Lambda authorizer: hands the caller's Bearer key to the usage plans."""
