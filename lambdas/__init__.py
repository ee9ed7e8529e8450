"""Lambda function code deployed by the kit."""
