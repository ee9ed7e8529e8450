"""Typed, validated kit configuration parsed from one TOML file per environment.

Each table is a frozen pydantic model (synthesis time only, like model_catalog.schema): its
fields, bounds and validators are the rules, written once. `app.py`, the local runner and the
tests all parse config the same way; each problem becomes one line naming the file and the key.
"""

from stacks.config.base import (
    CROSS_REGION_NONE,
    LOG_RETENTION_DAYS,
    WAF_WINDOW_SECONDS,
    WEB_ADAPTER_LAYER_VERSION,
    AccessCheckMode,
    ApiAuth,
    ConfigError,
    EndpointType,
    NetworkMode,
    OnExisting,
)
from stacks.config.kit_config import KitConfig, load_config, parse_config
from stacks.config.models import ModelsConfig
from stacks.config.sections import (
    AccessCheckConfig,
    AlarmsConfig,
    ApiConfig,
    DeploymentConfig,
    GatewayFunctionConfig,
    InvocationLoggingConfig,
    NetworkConfig,
    ObservabilityConfig,
    SecurityConfig,
    TeamConfig,
)

__all__ = [
    "CROSS_REGION_NONE",
    "LOG_RETENTION_DAYS",
    "WAF_WINDOW_SECONDS",
    "WEB_ADAPTER_LAYER_VERSION",
    "AccessCheckConfig",
    "AccessCheckMode",
    "AlarmsConfig",
    "ApiAuth",
    "ApiConfig",
    "ConfigError",
    "DeploymentConfig",
    "EndpointType",
    "GatewayFunctionConfig",
    "InvocationLoggingConfig",
    "KitConfig",
    "ModelsConfig",
    "NetworkConfig",
    "NetworkMode",
    "ObservabilityConfig",
    "OnExisting",
    "SecurityConfig",
    "TeamConfig",
    "load_config",
    "parse_config",
]
