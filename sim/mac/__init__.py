"""Golden models of the Ethernet MAC (:mod:`slique.hdl.mac`), same names as the gateware."""

from .mac_rx import MacRx
from .mac_tx import MacTx, fcs
from .rgmii_rx import RgmiiRx
from .rgmii_tx import RgmiiTx
from .phy_reset import PhyReset
from .skid_buffer import SkidBuffer


__all__ = ["MacRx", "MacTx", "fcs", "RgmiiRx", "RgmiiTx", "PhyReset", "SkidBuffer"]
