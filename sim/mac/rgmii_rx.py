"""Golden model of :class:`slique.hdl.mac.RgmiiRx`: RGMII pin halves to a GMII beat."""

__all__ = ["RgmiiRx"]


class RgmiiRx:
    """The GMII beat the receive adapter makes of one clock's two halves."""

    #: Clocks from the rising half on the pins to the beat on ``gmii``.
    latency = 2

    @staticmethod
    def decode(rising, falling):
        """``rising``, ``falling``: ``(rx_ctl, rx_data)``; returns ``(data, dv, er)``."""
        return rising[1] | falling[1] << 4, rising[0], rising[0] ^ falling[0]
