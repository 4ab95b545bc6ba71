"""Gigabit Ethernet MAC for RGMII PHYs: pin adapters, receive and transmit MACs, PHY reset."""

from .gmii import GMII_RX_LAYOUT, GMII_TX_LAYOUT
from .rgmii_rx import RgmiiRx
from .rgmii_tx import RgmiiTx
from .mac_rx import MacRx, RxOutcome
from .mac_tx import MacTx, TxOutcome
from .phy_reset import PhyReset
from .frame_buffer import FrameBuffer
from .skid_buffer import SkidBuffer


__all__ = ["GMII_RX_LAYOUT", "GMII_TX_LAYOUT", "RgmiiRx", "RgmiiTx", "MacRx", "RxOutcome",
           "MacTx", "TxOutcome", "PhyReset", "FrameBuffer", "SkidBuffer"]
