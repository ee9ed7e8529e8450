"""CDK stacks of the kit; reusable constructs live in stacks/components."""
