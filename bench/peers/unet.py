"""The UNet of BENCH.md workload 1, with the module names segkit's TypeScript UNet mirrors.

Layout (state-dict keys): enc1..enc4 and bottleneck are DoubleConv blocks
(`<name>.block.{0,1,3,4}`: conv, BatchNorm, ReLU, conv, BatchNorm, ReLU);
`pool` is a 2x2 max-pool; up4..up1 are ConvTranspose2d(k=2, s=2);
dec4..dec1 are DoubleConv blocks on torch.cat([skip, up], 1) (skip first);
`head` is a 1x1 conv to the classes.

`python3 unet.py` prints the state-dict keys and shapes; see flops.py for FLOP counts.
"""
import torch
from torch import nn


class DoubleConv(nn.Module):
    """(conv3x3 without bias, BatchNorm, ReLU) x 2, kept in `.block`."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.block(x)


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, classes: int = 4, base: int = 32):
        super().__init__()
        w1, w2, w3, w4, w5 = base, base * 2, base * 4, base * 8, base * 16
        self.enc1 = DoubleConv(in_channels, w1)
        self.enc2 = DoubleConv(w1, w2)
        self.enc3 = DoubleConv(w2, w3)
        self.enc4 = DoubleConv(w3, w4)
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(w4, w5)
        self.up4 = nn.ConvTranspose2d(w5, w4, 2, stride=2)
        self.dec4 = DoubleConv(w4 * 2, w4)
        self.up3 = nn.ConvTranspose2d(w4, w3, 2, stride=2)
        self.dec3 = DoubleConv(w3 * 2, w3)
        self.up2 = nn.ConvTranspose2d(w3, w2, 2, stride=2)
        self.dec2 = DoubleConv(w2 * 2, w2)
        self.up1 = nn.ConvTranspose2d(w2, w1, 2, stride=2)
        self.dec1 = DoubleConv(w1 * 2, w1)
        self.head = nn.Conv2d(w1, classes, 1)

    def forward(self, x):  # (B, 3, H, W) -> (B, classes, H, W); H, W divisible by 16
        s1 = self.enc1(x)
        s2 = self.enc2(self.pool(s1))
        s3 = self.enc3(self.pool(s2))
        s4 = self.enc4(self.pool(s3))
        y = self.bottleneck(self.pool(s4))
        y = self.dec4(torch.cat([s4, self.up4(y)], 1))
        y = self.dec3(torch.cat([s3, self.up3(y)], 1))
        y = self.dec2(torch.cat([s2, self.up2(y)], 1))
        y = self.dec1(torch.cat([s1, self.up1(y)], 1))
        return self.head(y)


if __name__ == "__main__":
    for k, v in UNet().state_dict().items():
        print(k, tuple(v.shape))
