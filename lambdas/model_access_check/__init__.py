"""Deploy-time model access pre-flight (custom resource handler and `make doctor`)."""
