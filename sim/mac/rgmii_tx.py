"""Golden model of :class:`slique.hdl.mac.RgmiiTx`: GMII beats to RGMII pin halves."""

__all__ = ["RgmiiTx"]


class RgmiiTx:
    """What the RGMII transmit pins carry for a GMII beat."""

    @staticmethod
    def encode(byte, en=1, er=0):
        """``((tx_ctl, tx_data) rising half, (tx_ctl, tx_data) falling half)``."""
        return (en, byte & 15), (en ^ er, byte >> 4)
