"""slique: bounded, explicit queues in gateware, with golden models and co-simulation."""

__version__ = "0.1.0"
